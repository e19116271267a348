package gcsblob_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
)

// tokenServer is a hand-written stand-in for Google's OAuth token endpoint
// (https://oauth2.googleapis.com/token), which the driver's token provider
// (the SDK's, cloud.google.com/go/auth) is pointed at through the
// test-only Options.TokenURL: no emulator of Google's OAuth exists, and
// fake-gcs-server does no OAuth. Its answers have the shapes Google
// documents for the server-to-server flow
// (https://developers.google.com/identity/protocols/oauth2/service-account#callinganapi:
// {"access_token", "expires_in", "token_type"}; errors as RFC 6749 5.2,
// {"error", "error_description"}, e.g. 400 invalid_grant "Invalid JWT
// Signature."). It checks each JWT-bearer assertion the
// way Google does (RS256 signature by the key's public half, issuer,
// audience, scope, lifetime) and either issues a random access token or
// answers with a fixed rejection.
type tokenServer struct {
	url   string
	key   string // the service-account JSON key whose assertions it accepts
	email string

	mu     sync.Mutex
	n      int
	tokens []string
	bad    []string // problems found in assertions
}

// rejection is a fixed error answer of the token endpoint.
type rejection struct {
	status int
	body   string
}

func newTokenServer(t *testing.T, reject *rejection) *tokenServer {
	t.Helper()
	fields := gcsblob.ServiceAccountFields(t)
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{key: string(raw), email: fields["client_email"].(string)}
	pub := &gcsblob.RSAKey(t).PublicKey
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.n++
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			ts.bad = append(ts.bad, "grant_type "+g)
		}
		if err := checkAssertion(r.PostForm.Get("assertion"), pub, ts.email, ts.url); err != nil {
			ts.bad = append(ts.bad, err.Error())
		}
		w.Header().Set("Content-Type", "application/json")
		if reject != nil {
			w.WriteHeader(reject.status)
			fmt.Fprint(w, reject.body)
			return
		}
		tok := "ya29.test-" + rand.Text()
		ts.tokens = append(ts.tokens, tok)
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
	}))
	t.Cleanup(srv.Close)
	ts.url = srv.URL + "/token"
	t.Cleanup(func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		for _, p := range ts.bad {
			t.Errorf("token server: %s", p)
		}
	})
	return ts
}

func (ts *tokenServer) exchanges() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n
}

func (ts *tokenServer) issued() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.tokens)
}

// checkAssertion verifies a JWT-bearer assertion (RFC 7523) as Google's
// token endpoint would.
func checkAssertion(jwt string, pub *rsa.PublicKey, email, aud string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion has %d parts, want 3", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("assertion signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("assertion not signed by the service account's key: %w", err)
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Aud, Scope string
		Iat, Exp        int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return fmt.Errorf("assertion part %d: %w", i, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("assertion part %d: %w", i, err)
		}
	}
	now := time.Now().Unix()
	switch {
	case header.Alg != "RS256":
		return fmt.Errorf("assertion alg %q, want RS256", header.Alg)
	case header.Kid == "":
		return fmt.Errorf("assertion has no kid")
	case claims.Iss != email:
		return fmt.Errorf("assertion iss %q, want %q", claims.Iss, email)
	case claims.Aud != aud:
		return fmt.Errorf("assertion aud %q, want %q", claims.Aud, aud)
	case claims.Scope != "https://www.googleapis.com/auth/devstorage.read_write":
		return fmt.Errorf("assertion scope %q", claims.Scope)
	case claims.Iat > now+60 || claims.Exp < now || claims.Exp-claims.Iat > 3600:
		return fmt.Errorf("assertion lifetime iat=%d exp=%d now=%d", claims.Iat, claims.Exp, now)
	}
	return nil
}

// recorder is a transport that records the Authorization header of every
// request to host.
type recorder struct {
	host string
	mu   sync.Mutex
	auth []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.host {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) headers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auth)
}

// TestAuthenticated runs the real authentication path: the key signs a JWT
// assertion, the token exchange and every storage request go through the
// caller's HTTP client, and each storage request carries the one cached
// access token. fake-gcs-server ignores the token but serves the calls.
func TestAuthenticated(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	tok := newTokenServer(t, nil)
	// An ADC file naming another account: it must never be used.
	decoy := newTokenServer(t, nil)
	adc := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(adc, []byte(decoy.key), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)

	name := testenv.BucketName(t, "auth")
	g.CreateBucket(t, name)
	rec := &recorder{host: g.Host}
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: name, ServiceAccountJSON: tok.key, HTTPClient: &http.Client{Transport: rec},
		Endpoint: g.Endpoint, TokenURL: tok.url,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	if tok.exchanges() != 0 {
		t.Fatalf("New exchanged a token; it must do no I/O")
	}
	ctx := t.Context()
	if err := b.Put(ctx, "a/b", []byte("authed")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, err := b.ReadRange(ctx, "a/b", 100); err != nil || string(got) != "authed" {
		t.Fatalf("ReadRange = %q, %v", got, err)
	}
	if objs, err := b.List(ctx, "a/", 10); err != nil || len(objs) != 1 {
		t.Fatalf("List = %v, %v", objs, err)
	}
	if err := b.Delete(ctx, "a/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	issued := tok.issued()
	if len(issued) != 1 {
		t.Fatalf("token exchanges = %d, want 1 (cached)", len(issued))
	}
	hdrs := rec.headers()
	if len(hdrs) < 4 {
		t.Fatalf("recorded %d storage requests through the caller's client, want at least 4", len(hdrs))
	}
	for i, h := range hdrs {
		if h != "Bearer "+issued[0] {
			t.Errorf("storage request %d: Authorization %q, want the issued token", i, h)
		}
	}
	if decoy.exchanges() != 0 {
		t.Errorf("the ADC file's account was used")
	}
}

// TestTokenRejected checks the mapping of refused token exchanges, in the
// shapes Google's token endpoint answers them (the driver never reaches
// storage, so no call leaves the machine).
func TestTokenRejected(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	tests := []struct {
		name   string
		reject rejection
		want   blob.Code
	}{
		{
			name:   "key deleted or wrong",
			reject: rejection{http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`},
			want:   blob.SignatureMismatch,
		},
		{
			name:   "account unknown",
			reject: rejection{http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid grant: account not found"}`},
			want:   blob.InvalidAccessKey,
		},
		{
			name:   "client disabled",
			reject: rejection{http.StatusUnauthorized, `{"error":"invalid_client","error_description":"The OAuth client was disabled."}`},
			want:   blob.InvalidAccessKey,
		},
		{
			name:   "scope refused",
			reject: rejection{http.StatusBadRequest, `{"error":"invalid_scope","error_description":"Invalid OAuth scope."}`},
			want:   blob.AccessDenied,
		},
		{
			name:   "token service down",
			reject: rejection{http.StatusServiceUnavailable, `{"error":"internal_failure"}`},
			want:   blob.Unknown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := newTokenServer(t, &tt.reject)
			b, err := gcsblob.New(t.Context(), gcsblob.Options{
				Bucket: testenv.BucketName(t, "tok"), ServiceAccountJSON: tok.key,
				HTTPClient: &http.Client{}, Endpoint: g.Endpoint, TokenURL: tok.url, MaxAttempts: 1,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, listErr := b.List(ctx, "", 10)
			_, readErr := b.ReadRange(ctx, "k", 1)
			for op, err := range map[string]error{
				"list": listErr, "read": readErr,
				"put": b.Put(ctx, "k", []byte("x")), "delete": b.Delete(ctx, "k"),
			} {
				if got := blob.CodeOf(err); got != tt.want {
					t.Errorf("%s: code %s, want %s (error: %v)", op, got, tt.want, err)
				}
				if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("%s: error quotes the key", op)
				}
			}
		})
	}
}

// TestTokenEndpointHanging checks that the caller's deadline bounds the
// token exchange as well as the storage call.
func TestTokenEndpointHanging(t *testing.T) {
	key := gcsblob.ServiceAccountJSON(t, nil)
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: "b", ServiceAccountJSON: key, HTTPClient: &http.Client{},
		Endpoint: testenv.RefusedEndpoint(t), TokenURL: testenv.HangingServer(t) + "/token",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = b.List(ctx, "", 1)
	if blob.CodeOf(err) != blob.Timeout {
		t.Fatalf("List with a hanging token endpoint = %v, want Timeout", err)
	}
	if d := time.Since(start); d > 1750*time.Millisecond {
		t.Fatalf("List took %s after a 1s deadline", d)
	}
}

// TestUnreachable checks a refused connection, which the storage client
// retries, still ends as Unreachable within the deadline.
func TestUnreachable(t *testing.T) {
	b := open(t, testenv.RefusedEndpoint(t), "b", gcsblob.ServiceAccountJSON(t, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := b.List(ctx, "", 1)
	if blob.CodeOf(err) != blob.Unreachable {
		t.Fatalf("List on a refused port = %v, want Unreachable", err)
	}
}

// TestPresignPutSignature checks a presigned URL's V4 query-string
// signature (fake-gcs-server accepts any): it is made with the service
// account's key, names the account, covers the PUT of exactly this object
// on the URL's host and expires after ttl.
func TestPresignPutSignature(t *testing.T) {
	fields := gcsblob.ServiceAccountFields(t)
	raw, _ := json.Marshal(fields)
	email := fields["client_email"].(string)
	tests := []struct {
		name, endpoint, wantPrefix string
	}{
		{name: "google", endpoint: "", wantPrefix: "https://storage.googleapis.com/bucket-1/dir/a%20b.bin?"},
		{name: "emulator", endpoint: "http://127.0.0.1:4443", wantPrefix: "http://127.0.0.1:4443/bucket-1/dir/a%20b.bin?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := gcsblob.New(t.Context(), gcsblob.Options{
				Bucket: "bucket-1", ServiceAccountJSON: string(raw), HTTPClient: &http.Client{}, Endpoint: tt.endpoint,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer b.Close()
			s, err := b.PresignPut(t.Context(), "dir/a b.bin", 15*time.Minute)
			if err != nil {
				t.Fatalf("PresignPut: %v", err)
			}
			if !strings.HasPrefix(s, tt.wantPrefix) {
				t.Fatalf("PresignPut = %s, want prefix %s", s, tt.wantPrefix)
			}
			if err := checkV4(s, http.MethodPut, &gcsblob.RSAKey(t).PublicKey, email, 15*time.Minute); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkV4 verifies a GOOG4-RSA-SHA256 signed URL as GCS does
// (https://cloud.google.com/storage/docs/authentication/signatures).
func checkV4(signed, method string, pub *rsa.PublicKey, email string, ttl time.Duration) error {
	u, err := url.Parse(signed)
	if err != nil {
		return err
	}
	q := u.Query()
	date := q.Get("X-Goog-Date")
	scope := strings.TrimPrefix(q.Get("X-Goog-Credential"), email+"/")
	switch {
	case q.Get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256":
		return fmt.Errorf("algorithm %q", q.Get("X-Goog-Algorithm"))
	case scope == q.Get("X-Goog-Credential") || len(date) < 8 || scope != date[:8]+"/auto/storage/goog4_request":
		return fmt.Errorf("credential %q does not name %s", q.Get("X-Goog-Credential"), email)
	case q.Get("X-Goog-Expires") != fmt.Sprint(int(ttl.Seconds())) && q.Get("X-Goog-Expires") != fmt.Sprint(int(ttl.Seconds())-1):
		return fmt.Errorf("expires %q, want %d (or a second less)", q.Get("X-Goog-Expires"), int(ttl.Seconds()))
	case q.Get("X-Goog-SignedHeaders") != "host":
		return fmt.Errorf("signed headers %q, want host", q.Get("X-Goog-SignedHeaders"))
	}
	sig, err := hex.DecodeString(q.Get("X-Goog-Signature"))
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	q.Del("X-Goog-Signature")
	canonical := strings.Join([]string{
		method,
		u.EscapedPath(),
		strings.ReplaceAll(q.Encode(), "+", "%20"),
		"host:" + u.Hostname() + "\n",
		"host",
		"UNSIGNED-PAYLOAD",
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "GOOG4-RSA-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	digest := sha256.Sum256([]byte(toSign))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("signature does not verify with the service account's key: %w", err)
	}
	return nil
}

// TestEmulatorVariableIgnored checks that STORAGE_EMULATOR_HOST, which
// makes Google's library send unauthenticated requests to another host,
// changes nothing: outside tests, requests go to storage.googleapis.com
// with a token. Requests other than the token exchange are stopped at the
// transport, so nothing leaves the machine.
func TestEmulatorVariableIgnored(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	tok := newTokenServer(t, nil)
	tokURL, _ := url.Parse(tok.url)
	var (
		mu   sync.Mutex
		seen []string
	)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == tokURL.Host {
			return http.DefaultTransport.RoundTrip(r)
		}
		mu.Lock()
		seen = append(seen, r.URL.Scheme+"://"+r.URL.Host+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		return nil, errors.New("stopped by the test")
	})}
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: "b", ServiceAccountJSON: tok.key, HTTPClient: hc, TokenURL: tok.url, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	if _, err := b.List(t.Context(), "", 1); err == nil {
		t.Fatal("List succeeded through a transport that stops every request")
	}
	u, err := b.PresignPut(t.Context(), "k", time.Minute)
	if err != nil || !strings.HasPrefix(u, "https://storage.googleapis.com/b/k?") {
		t.Errorf("PresignPut = %s, %v; want a storage.googleapis.com URL", u, err)
	}
	mu.Lock()
	defer mu.Unlock()
	issued := tok.issued()
	if len(seen) != 1 || len(issued) != 1 || seen[0] != "https://storage.googleapis.com Bearer "+issued[0] {
		t.Fatalf("storage requests = %q, want one authenticated request to https://storage.googleapis.com", seen)
	}
}
