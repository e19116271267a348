package gcsblob_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// countingServer is an HTTPS server on loopback that counts the requests
// it gets and answers each with an empty listing.
func countingServer(t *testing.T) (url string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"storage#objects"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// TestStorageTrafficThroughNetguard checks that the SDK's storage requests
// and token exchanges go through the caller's netguard client: with the
// production policy, a bucket (and a token endpoint) on loopback is
// refused at the guarded dialer (a name that resolves to loopback) or
// before it (a loopback address), every call answers Unreachable with a
// *netguard.BlockedError (endpoint_blocked for the verifier), and the
// servers get no request.
func TestStorageTrafficThroughNetguard(t *testing.T) {
	storageURL, storageHits := countingServer(t)
	tokenURL, tokenHits := countingServer(t)
	tests := []struct {
		name     string
		endpoint string
		tokenURL string
	}{
		{name: "loopback address, unauthenticated", endpoint: storageURL},
		{name: "name resolving to loopback, unauthenticated", endpoint: strings.Replace(storageURL, "127.0.0.1", "localhost", 1)},
		{name: "token endpoint on loopback", endpoint: storageURL, tokenURL: strings.Replace(tokenURL, "127.0.0.1", "localhost", 1) + "/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := gcsblob.New(t.Context(), gcsblob.Options{
				Bucket: "b", ServiceAccountJSON: gcsblob.ServiceAccountJSON(t, nil),
				HTTPClient: netguard.Policy{}.HTTPClient(), Endpoint: tt.endpoint, TokenURL: tt.tokenURL,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, listErr := b.List(ctx, "", 10)
			_, readErr := b.ReadRange(ctx, "k", 1)
			_, corsErr := b.CORS(ctx)
			for op, err := range map[string]error{
				"list": listErr, "read": readErr, "cors": corsErr,
				"put": b.Put(ctx, "k", []byte("x")), "delete": b.Delete(ctx, "k"),
			} {
				var be *netguard.BlockedError
				if !errors.As(err, &be) || blob.CodeOf(err) != blob.Unreachable {
					t.Errorf("%s = %v; want Unreachable with a *netguard.BlockedError", op, err)
				}
			}
		})
	}
	if n, m := storageHits.Load(), tokenHits.Load(); n != 0 || m != 0 {
		t.Fatalf("the loopback servers got %d storage and %d token requests, want none", n, m)
	}
}

// TestKeyTokenURIIgnored checks that a key whose token_uri names another
// server (here a loopback one the client could reach) never makes the
// driver post there: the one token exchange goes to Google's fixed
// endpoint. The test's transport stops every request but those to the
// loopback server, so nothing leaves the machine.
func TestKeyTokenURIIgnored(t *testing.T) {
	decoyURL, decoyHits := countingServer(t)
	key := gcsblob.ServiceAccountJSON(t, func(f map[string]any) { f["token_uri"] = decoyURL + "/token" })
	decoyHost := strings.TrimPrefix(decoyURL, "https://")
	var (
		mu   sync.Mutex
		seen []string
	)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == decoyHost {
			return base.RoundTrip(r) // would fail TLS verification, but after the request reached the server
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		mu.Unlock()
		return nil, errors.New("stopped by the test")
	})}
	b, err := gcsblob.New(t.Context(), gcsblob.Options{Bucket: "b", ServiceAccountJSON: key, HTTPClient: hc, MaxAttempts: 1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	if _, err := b.List(t.Context(), "", 1); err == nil {
		t.Fatal("List succeeded through a transport that stops every request")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "POST "+gcsblob.GoogleTokenURL {
		t.Errorf("requests = %q, want one POST to %s", seen, gcsblob.GoogleTokenURL)
	}
	if n := decoyHits.Load(); n != 0 {
		t.Errorf("the key's token_uri got %d requests, want none", n)
	}
}
