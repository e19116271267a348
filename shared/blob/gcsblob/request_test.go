package gcsblob_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
)

// scripted is a JSON API server that answers the i-th request with
// answers[i] (the last one repeated) and records each request's method and
// path.
type scripted struct {
	mu   sync.Mutex
	seen []string
}

type answer struct {
	status int
	body   string
}

func newScripted(t *testing.T, answers ...answer) (*scripted, string) {
	t.Helper()
	s := &scripted{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path)
		a := answers[min(len(s.seen), len(answers))-1]
		s.mu.Unlock()
		if a.status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		if a.status == http.StatusPartialContent {
			// As GCS sends it; the SDK refuses a 206 without it.
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(a.body)-1, len(a.body)))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *scripted) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

const (
	unavailable = `{"error":{"code":503,"message":"Backend Error","errors":[{"reason":"backendError"}]}}`
	emptyList   = `{"kind":"storage#objects"}`
)

// TestRetries checks which calls are retried: idempotent ones (List,
// ReadRange, CORS) on 429 and 5xx, up to MaxAttempts; never on other
// answers, and never an upload or a delete.
func TestRetries(t *testing.T) {
	key := gcsblob.ServiceAccountJSON(t, nil)
	list := func(b *gcsblob.Bucket) error { _, err := b.List(t.Context(), "", 10); return err }
	tests := []struct {
		name     string
		attempts int
		answers  []answer
		call     func(b *gcsblob.Bucket) error
		want     blob.Code // "" for success
		requests int
	}{
		{name: "503 then ok", answers: []answer{{503, unavailable}, {200, emptyList}}, call: list, requests: 2},
		{name: "429 then ok", answers: []answer{{429, `{"error":{"code":429,"message":"slow down"}}`}, {200, emptyList}}, call: list, requests: 2},
		{name: "503 until attempts run out", attempts: 3, answers: []answer{{503, unavailable}}, call: list, want: blob.Unknown, requests: 3},
		{name: "one attempt", attempts: 1, answers: []answer{{503, unavailable}}, call: list, want: blob.Unknown, requests: 1},
		{name: "403 not retried", attempts: 3, answers: []answer{{403, `{"error":{"code":403,"message":"no"}}`}}, call: list, want: blob.AccessDenied, requests: 1},
		{name: "404 not retried", attempts: 3, answers: []answer{{404, `Not Found`}}, call: list, want: blob.NotFound, requests: 1},
		{
			name: "read retried", answers: []answer{{500, ``}, {206, `abc`}}, requests: 2,
			call: func(b *gcsblob.Bucket) error { _, err := b.ReadRange(t.Context(), "k", 3); return err },
		},
		{
			name: "cors retried", answers: []answer{{502, ``}, {200, `{}`}}, requests: 2,
			call: func(b *gcsblob.Bucket) error { _, err := b.CORS(t.Context()); return err },
		},
		{
			name: "put not retried", attempts: 3, answers: []answer{{503, unavailable}}, want: blob.Unknown, requests: 1,
			call: func(b *gcsblob.Bucket) error { return b.Put(t.Context(), "k", []byte("x")) },
		},
		{
			name: "delete not retried", attempts: 3, answers: []answer{{503, unavailable}}, want: blob.Unknown, requests: 1,
			call: func(b *gcsblob.Bucket) error { return b.Delete(t.Context(), "k") },
		},
		{name: "redirect not followed", answers: []answer{{302, ``}, {200, emptyList}}, call: list, want: blob.Unknown, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, endpoint := newScripted(t, tt.answers...)
			b, err := gcsblob.New(t.Context(), gcsblob.Options{
				Bucket: "b", ServiceAccountJSON: key, HTTPClient: &http.Client{}, Endpoint: endpoint, MaxAttempts: tt.attempts,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer b.Close()
			err = tt.call(b)
			if got := blob.CodeOf(err); got != tt.want {
				t.Errorf("code %q, want %q (error: %v)", got, tt.want, err)
			}
			if got := srv.requests(); len(got) != tt.requests {
				t.Errorf("requests = %q, want %d", got, tt.requests)
			}
		})
	}
}

// TestTokenRetried checks that a token endpoint answering 503 is retried
// like the storage API, and that the token is then used.
func TestTokenRetried(t *testing.T) {
	srv, endpoint := newScripted(t, answer{200, emptyList})
	var (
		mu    sync.Mutex
		tries int
	)
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tries++
		w.Header().Set("Content-Type", "application/json")
		if tries == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"internal_failure"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"ya29.retried","expires_in":3599,"token_type":"Bearer"}`)
	}))
	defer tokSrv.Close()
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: "b", ServiceAccountJSON: gcsblob.ServiceAccountJSON(t, nil), HTTPClient: &http.Client{},
		Endpoint: endpoint, TokenURL: tokSrv.URL + "/token",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	if _, err := b.List(t.Context(), "", 1); err != nil {
		t.Fatalf("List: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if tries != 2 || len(srv.requests()) != 1 {
		t.Fatalf("token exchanges = %d, storage requests = %d; want 2 and 1", tries, len(srv.requests()))
	}
}

// TestObjectNames round-trips keys with characters that must be escaped
// in a JSON API path or query through fake-gcs-server, and presigns one.
func TestObjectNames(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	name := testenv.BucketName(t, "names")
	g.CreateBucket(t, name)
	b := open(t, g.Endpoint, name, gcsblob.ServiceAccountJSON(t, nil))
	ctx := t.Context()
	keys := []string{"dir/sub/a b.txt", "plus+sign", "pct%41", "q?uery#frag", "semi;colon,comma=eq&amp", "ünï©ødé/ü", "~tilde.-_"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			data := []byte("data of " + key)
			if err := b.Put(ctx, key, data); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := b.ReadRange(ctx, key, 1024)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadRange = %q, %v; want %q", got, err, data)
			}
			if _, err := b.ReadRange(ctx, key, 0); err != nil {
				t.Fatalf("ReadRange(0): %v", err)
			}
			objs, err := b.List(ctx, key, 10)
			if err != nil || len(objs) != 1 || objs[0].Key != key || objs[0].Size != int64(len(data)) {
				t.Fatalf("List(%q) = %v, %v; want only the key", key, objs, err)
			}
			if err := b.Delete(ctx, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := b.ReadRange(ctx, key, 1); blob.CodeOf(err) != blob.NotFound {
				t.Fatalf("ReadRange after Delete = %v, want NotFound", err)
			}
		})
	}
	t.Run("presigned", func(t *testing.T) {
		key := "up/a b+c%d.bin"
		u, err := b.PresignPut(ctx, key, 5*60e9)
		if err != nil {
			t.Fatalf("PresignPut: %v", err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader([]byte("via url")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PUT: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT: %s", resp.Status)
		}
		if got, err := b.ReadRange(ctx, key, 100); err != nil || string(got) != "via url" {
			t.Fatalf("ReadRange = %q, %v", got, err)
		}
	})
}

// TestListPagesBounded checks that a server answering pages with no items
// and a page token forever is asked a bounded number of times (the tries of 5
// pages: 10 requests at the default 2 tries), and the listing ends with what it had.
func TestListPagesBounded(t *testing.T) {
	srv, endpoint := newScripted(t, answer{200, `{"kind":"storage#objects","nextPageToken":"more"}`})
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: "b", ServiceAccountJSON: gcsblob.ServiceAccountJSON(t, nil), HTTPClient: &http.Client{}, Endpoint: endpoint,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	objs, err := b.List(t.Context(), "", 11)
	if err != nil || len(objs) != 0 {
		t.Fatalf("List = %v, %v; want no objects and no error", objs, err)
	}
	if n := len(srv.requests()); n != 5*gcsblob.DefaultMaxAttempts {
		t.Fatalf("requests = %d, want %d", n, 5*gcsblob.DefaultMaxAttempts)
	}
}
