package azureblob

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// responseError builds the SDK's error for an answer with status, error
// code and Server header.

// fakeSig stands in for a signature; tests check it never shows in errors.
const fakeSig = "c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ%3D%3D"

func responseError(status int, code, server string) error {
	resp := &http.Response{
		StatusCode: status,
		Status:     http.StatusText(status),
		Header:     http.Header{},
		Body:       io.NopCloser(strings.NewReader("")),
		Request:    &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: "acct.blob.core.windows.net", Path: "/c/k"}},
	}
	if server != "" {
		resp.Header.Set("Server", server)
	}
	if code != "" {
		resp.Header.Set("x-ms-error-code", code)
	}
	return runtime.NewResponseError(resp)
}

const (
	azureServer   = "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"
	azuriteServer = "Azurite-Blob/3.37.0"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    blob.Code
		wantTLS bool
	}{
		{name: "container not found", err: responseError(404, "ContainerNotFound", azureServer), want: blob.NotFound},
		{name: "blob not found", err: responseError(404, "BlobNotFound", azureServer), want: blob.NotFound},
		{name: "resource not found on Azure", err: responseError(404, "ResourceNotFound", azureServer), want: blob.NotFound},
		{name: "unknown account on Azurite", err: responseError(404, "ResourceNotFound", azuriteServer), want: blob.InvalidAccessKey},
		{name: "wrong key on Azure", err: responseError(403, "AuthenticationFailed", azureServer), want: blob.SignatureMismatch},
		{name: "wrong key on Azurite", err: responseError(403, "AuthorizationFailure", azuriteServer), want: blob.SignatureMismatch},
		{name: "firewall on Azure", err: responseError(403, "AuthorizationFailure", azureServer), want: blob.AccessDenied},
		{name: "SAS lacks permission", err: responseError(403, "AuthorizationPermissionMismatch", azureServer), want: blob.AccessDenied},
		{name: "SAS wrong resource type", err: responseError(403, "AuthorizationResourceTypeMismatch", azuriteServer), want: blob.AccessDenied},
		{name: "shared key disabled", err: responseError(403, "KeyBasedAuthenticationNotPermitted", azureServer), want: blob.AccessDenied},
		{name: "bad container name", err: responseError(400, "InvalidResourceName", azureServer), want: blob.InvalidBucketName},
		{name: "bare 404", err: responseError(404, "", ""), want: blob.NotFound},
		{name: "bare 403", err: responseError(403, "", ""), want: blob.AccessDenied},
		{name: "server error", err: responseError(500, "InternalError", azureServer), want: blob.Unknown},
		{name: "deadline", err: fmt.Errorf("list: %w", context.DeadlineExceeded), want: blob.Timeout},
		{
			name: "unknown account host",
			err:  &url.Error{Op: "Get", URL: "https://nope.blob.core.windows.net/c", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nope.blob.core.windows.net", Err: "no such host", IsNotFound: true}}},
			want: blob.InvalidAccessKey,
		},
		{
			name: "unknown custom host",
			err:  &url.Error{Op: "Get", URL: "https://blob.example.com/c", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "blob.example.com", Err: "no such host", IsNotFound: true}}},
			want: blob.Unreachable,
		},
		{
			name: "DNS server failure for an account host",
			err:  &net.DNSError{Name: "acct.blob.core.windows.net", Err: "server misbehaving", IsTemporary: true},
			want: blob.Unreachable,
		},
		{name: "connection refused", err: &url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, want: blob.Unreachable},
		{name: "error body too large", err: &netguard.TooLargeError{Part: netguard.PartErrorBody, Limit: netguard.MaxErrorBodyBytes}, want: blob.ResponseTooLarge},
		{name: "headers too large", err: &url.Error{Op: "Get", URL: "https://acct.blob.core.windows.net/c", Err: &netguard.TooLargeError{Part: netguard.PartHeaders}}, want: blob.ResponseTooLarge},
		{name: "untrusted certificate", err: &url.Error{Op: "Get", URL: "https://x/", Err: x509.UnknownAuthorityError{}}, want: blob.Unreachable, wantTLS: true},
		{name: "other", err: errors.New("something else"), want: blob.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, isTLS := classify(tt.err)
			if code != tt.want || isTLS != tt.wantTLS {
				t.Errorf("classify(%v) = %s, TLS %v; want %s, TLS %v", tt.err, code, isTLS, tt.want, tt.wantTLS)
			}
		})
	}
}

func TestWrapScrubsSecrets(t *testing.T) {
	const token = "sv=2022-11-02&sr=c&sp=rl&se=2030-01-01&sig=" + fakeSig
	b := &Bucket{secrets: []string{token, fakeSig}}
	tests := []struct {
		name string
		err  error
	}{
		{name: "URL error with the token", err: &url.Error{Op: "Get", URL: "https://acct.blob.core.windows.net/c?restype=container&" + token, Err: syscall.ECONNREFUSED}},
		{name: "message with the signature", err: fmt.Errorf("odd failure near sig=%s", fakeSig)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.wrap("list", tt.err)
			if strings.Contains(err.Error(), fakeSig) {
				t.Fatalf("wrapped error shows the signature: %v", err)
			}
			var be *blob.Error
			if !errors.As(err, &be) || be.Op != "list" {
				t.Fatalf("wrap = %v, want a *blob.Error for list", err)
			}
		})
	}
	if err := b.wrap("list", nil); err != nil {
		t.Errorf("wrap(nil) = %v, want nil", err)
	}
}
