package gcsblob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// viaTransport wraps err as the HTTP client returns a transport failure.
func viaTransport(err error) error {
	return fmt.Errorf("list objects: %w", &url.Error{Op: "Get", URL: "https://storage.googleapis.com/storage/v1/b/x/o", Err: err})
}

func tokenErr(status int, body string) error {
	return viaTransport(&auth.Error{Response: &http.Response{StatusCode: status}, Body: []byte(body)})
}

// mustAPIError wraps ge in an *apierror.APIError, as the SDK does.
func mustAPIError(ge *googleapi.Error) error {
	ae, ok := apierror.FromError(ge)
	if !ok {
		panic("apierror.FromError refused a *googleapi.Error")
	}
	return ae
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    blob.Code
		wantTLS bool
	}{
		{name: "object not exist", err: fmt.Errorf("read: %w", storage.ErrObjectNotExist), want: blob.NotFound},
		{name: "bucket not exist wrapped", err: fmt.Errorf("attrs: %w", storage.ErrBucketNotExist), want: blob.NotFound},
		{name: "api 404", err: &googleapi.Error{Code: 404, Message: "The specified bucket does not exist."}, want: blob.NotFound},
		{name: "api 401", err: &googleapi.Error{Code: 401, Message: "Invalid Credentials", Errors: []googleapi.ErrorItem{{Reason: "authError"}}}, want: blob.InvalidAccessKey},
		{name: "api 403", err: &googleapi.Error{Code: 403, Message: "sa@p.iam.gserviceaccount.com does not have storage.objects.list access"}, want: blob.AccessDenied},
		{name: "api 400 bucket name", err: &googleapi.Error{Code: 400, Message: "Invalid bucket name: 'A B'", Errors: []googleapi.ErrorItem{{Reason: "invalid"}}}, want: blob.InvalidBucketName},
		{name: "api 400 other", err: &googleapi.Error{Code: 400, Message: "Invalid argument."}, want: blob.Unknown},
		{name: "api 416", err: &googleapi.Error{Code: 416}, want: blob.Unknown},
		{name: "api 302 not followed", err: &googleapi.Error{Code: 302}, want: blob.Unknown},
		{name: "apierror 403", err: fmt.Errorf("list: %w", mustAPIError(&googleapi.Error{Code: 403, Message: "no storage.objects.list access"})), want: blob.AccessDenied},
		{name: "api 429", err: &googleapi.Error{Code: 429}, want: blob.Unknown},
		{name: "api 503", err: &googleapi.Error{Code: 503}, want: blob.Unknown},
		{name: "token invalid signature", err: tokenErr(400, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`), want: blob.SignatureMismatch},
		{name: "token account not found", err: tokenErr(400, `{"error":"invalid_grant","error_description":"Invalid grant: account not found"}`), want: blob.InvalidAccessKey},
		{name: "token invalid grant other", err: tokenErr(400, `{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token"}`), want: blob.InvalidAccessKey},
		{name: "token invalid client", err: tokenErr(401, `{"error":"invalid_client"}`), want: blob.InvalidAccessKey},
		{name: "token unauthorized client", err: tokenErr(400, `{"error":"unauthorized_client"}`), want: blob.InvalidAccessKey},
		{name: "token access denied", err: tokenErr(403, `{"error":"access_denied"}`), want: blob.AccessDenied},
		{name: "token 400 not JSON", err: tokenErr(400, `<html>bad</html>`), want: blob.InvalidAccessKey},
		{name: "token 403 not JSON", err: tokenErr(403, ``), want: blob.AccessDenied},
		{name: "token 503 is not the key", err: tokenErr(503, `{"error":"backend_error"}`), want: blob.Unknown},
		{name: "token 500 is not unreachable", err: tokenErr(500, ``), want: blob.Unknown},
		{name: "token endpoint refused", err: viaTransport(fmt.Errorf("auth: cannot fetch token: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})), want: blob.Unreachable},
		{name: "deadline", err: viaTransport(context.DeadlineExceeded), want: blob.Timeout},
		{name: "bare deadline", err: context.DeadlineExceeded, want: blob.Timeout},
		{name: "canceled", err: context.Canceled, want: blob.Timeout},
		{name: "net timeout", err: viaTransport(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), want: blob.Timeout},
		{name: "refused", err: viaTransport(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), want: blob.Unreachable},
		{name: "reset", err: viaTransport(syscall.ECONNRESET), want: blob.Unreachable},
		{name: "dns", err: viaTransport(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}), want: blob.Unreachable},
		{name: "netguard blocked", err: viaTransport(&net.OpError{Op: "dial", Net: "tcp", Err: &netguard.BlockedError{Addr: netip.MustParseAddr("169.254.169.254"), Range: "link-local"}}), want: blob.Unreachable},
		{name: "unknown authority", err: viaTransport(x509.UnknownAuthorityError{}), want: blob.Unreachable, wantTLS: true},
		{name: "hostname mismatch", err: viaTransport(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}), want: blob.Unreachable, wantTLS: true},
		{name: "tls verification", err: viaTransport(&tls.CertificateVerificationError{Err: errors.New("expired")}), want: blob.Unreachable, wantTLS: true},
		{name: "tls record header", err: viaTransport(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), want: blob.Unreachable, wantTLS: true},
		{name: "unexpected EOF mid-answer", err: viaTransport(io.ErrUnexpectedEOF), want: blob.Unreachable},
		{name: "other", err: errors.New("storage: something else"), want: blob.Unknown},
		{name: "netguard error body too large", err: fmt.Errorf("read answer: %w", &netguard.TooLargeError{Part: netguard.PartErrorBody, Limit: netguard.MaxErrorBodyBytes}), want: blob.ResponseTooLarge},
		{name: "netguard headers too large", err: viaTransport(&netguard.TooLargeError{Part: netguard.PartHeaders, Limit: netguard.MaxResponseHeaderBytes}), want: blob.ResponseTooLarge},
		{name: "own bound", err: fmt.Errorf("read answer: %w", &tooLargeError{limit: maxJSONBody}), want: blob.ResponseTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, isTLS := classify(tt.err)
			if code != tt.want || isTLS != tt.wantTLS {
				t.Fatalf("classify(%v) = %s, TLS %v; want %s, TLS %v", tt.err, code, isTLS, tt.want, tt.wantTLS)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	b := &Bucket{}
	if err := b.wrap("list", nil); err != nil {
		t.Fatalf("wrap(nil) = %v, want nil", err)
	}
	notExist := storage.ErrObjectNotExist
	cause := fmt.Errorf("read: %w", notExist)
	err := b.wrap("read", cause)
	var be *blob.Error
	if !errors.As(err, &be) || be.Op != "read" || be.Code != blob.NotFound || blob.CodeOf(err) != blob.NotFound {
		t.Fatalf("wrap = %#v, want a read NotFound *blob.Error", err)
	}
	if !errors.Is(err, notExist) {
		t.Fatalf("wrap lost its cause: %v", err)
	}
}

func TestCORSRules(t *testing.T) {
	in := []storage.CORS{
		{Origins: []string{"https://app.example.com"}, Methods: []string{"PUT", "GET"}, ResponseHeaders: []string{"Content-Type"}, MaxAge: time.Hour},
		{Origins: []string{"*"}, Methods: []string{"GET"}},
	}
	got := corsRules(in)
	if len(got) != 2 {
		t.Fatalf("corsRules = %v, want 2 rules", got)
	}
	r := got[0]
	if r.AllowedOrigins[0] != "https://app.example.com" || r.AllowedMethods[0] != "PUT" || r.AllowedMethods[1] != "GET" ||
		r.AllowedHeaders[0] != "Content-Type" || r.ExposedHeaders[0] != "Content-Type" || r.MaxAgeSeconds != 3600 {
		t.Errorf("corsRules[0] = %+v", r)
	}
	if r := got[1]; r.AllowedOrigins[0] != "*" || r.MaxAgeSeconds != 0 || len(r.AllowedHeaders) != 0 {
		t.Errorf("corsRules[1] = %+v", r)
	}
	if got := corsRules(nil); got == nil || len(got) != 0 {
		t.Errorf("corsRules(nil) = %#v, want an empty slice", got)
	}
}
