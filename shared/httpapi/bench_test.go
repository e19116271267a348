package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkList measures one list request (a page of 20, the default) in an
// org holding 10,000 configs, through the whole handler stack: auth, cursor,
// SQLite query, JSON. Run: make bench, or
//
//	go test -run '^$' -bench BenchmarkList -benchmem ./shared/httpapi/
func BenchmarkList(b *testing.B) {
	e := newEnv(b, 5*time.Second)
	e.seed(b, "acme", 10000, time.Now().UTC().Add(-time.Hour))
	h := e.srv.Config.Handler
	key := e.keys["acme/viewer"]
	// The second page, so that a cursor is decoded as well.
	first := httptest.NewRecorder()
	req := httptest.NewRequest("GET", base, nil)
	req.Header.Set("X-Avala-Api-Key", key)
	h.ServeHTTP(first, req)
	var page struct{ Next string }
	if err := json.Unmarshal(first.Body.Bytes(), &page); err != nil || page.Next == "" {
		b.Fatalf("first page: %v %s", err, first.Body)
	}
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", page.Next, nil)
		req.Header.Set("X-Avala-Api-Key", key)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkCreate measures a create request against MinIO on loopback: auth,
// validation, the four bucket checks, sealing and the insert.
func BenchmarkCreate(b *testing.B) {
	e := newEnv(b, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := e.compatBody(bucket, ak, sk)
	for b.Loop() {
		if r := e.do("POST", base, e.keys["acme/admin"], body); r.Status != http.StatusCreated {
			b.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
}
