package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
)

// recordingBody is a request body that remembers every buffer the handler
// read it into, so that a test can check they were cleared.
type recordingBody struct {
	r    *strings.Reader
	mu   sync.Mutex
	seen [][]byte
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.seen = append(b.seen, p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *recordingBody) Close() error { return nil }

// uncleared reports whether a buffer the body was read into still holds
// any of its bytes.
func (b *recordingBody) uncleared() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.seen {
		if len(bytes.Trim(p, "\x00")) > 0 {
			return true
		}
	}
	return false
}

// failingSealer refuses to seal and remembers the plaintext it was given.
type failingSealer struct {
	mu    sync.Mutex
	plain []byte
}

func (f *failingSealer) Seal(_ context.Context, plain []byte, _ seal.Binding) ([]byte, error) {
	f.mu.Lock()
	f.plain = plain
	f.mu.Unlock()
	return nil, errcode.Wrap(errcode.Unavailable, context.DeadlineExceeded, "kms GenerateDataKey")
}

func (f *failingSealer) Open(context.Context, []byte, seal.Binding) ([]byte, error) {
	return nil, errcode.New(errcode.Unavailable, "kms Decrypt")
}

// TestPlaintextBuffersCleared sends bodies that hold credentials down
// paths that end in an error (the create whose sealing fails, a create
// that fails validation, a bucket-verify that cannot start) and checks
// that, once the handler has answered, no buffer the body was read into
// still holds it, and that the credentials document given to the sealer
// was cleared.
func TestPlaintextBuffersCleared(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := provision.CreateOrg(ctx, st, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, st, "acme", identity.RoleAdmin, "ann")
	if err != nil {
		t.Fatal(err)
	}
	sealer := &failingSealer{}
	h := (&httpapi.Server{Store: st, Sealer: sealer, Verifier: passVerifier{}, CursorKey: make([]byte, 32)}).Handler()
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	// Longer than the first read buffer, so that the reader grows it.
	padding := strings.Repeat(" ", 3000)
	create := `{"name":"n",` + padding + `"provider":"aws_s3","s3_bucket_name":"acme-datasets","s3_bucket_region":"us-west-2",` +
		`"s3_access_key_id":"AKIAIOSFODNN7EXAMPLE","s3_secret_access_key":"` + secret + `"}`
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"create, sealing fails", "POST", "/api/v1/storage-configs/", create, http.StatusServiceUnavailable},
		{"create, invalid", "POST", "/api/v1/storage-configs/", strings.Replace(create, `"aws_s3"`, `"nope"`, 1), http.StatusBadRequest},
		{"bucket-verify, not configured", "POST", "/v1/api/organizations/acme/buckets/verify",
			`{"accessKey":"AKIAIOSFODNN7EXAMPLE","secretKey":"` + secret + `",` + padding + `"bucket":"acme-datasets"}`, http.StatusInternalServerError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := &recordingBody{r: strings.NewReader(tt.body)}
			req := httptest.NewRequest(tt.method, tt.path, body)
			req.Header.Set("X-Avala-Api-Key", key)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if body.uncleared() {
				t.Error("a buffer the body was read into still holds it")
			}
		})
	}
	sealer.mu.Lock()
	defer sealer.mu.Unlock()
	if sealer.plain == nil {
		t.Fatal("the sealer was never called")
	}
	if len(bytes.Trim(sealer.plain, "\x00")) > 0 {
		t.Errorf("the credentials document given to the failing sealer was not cleared: %d bytes left", len(bytes.Trim(sealer.plain, "\x00")))
	}
}
