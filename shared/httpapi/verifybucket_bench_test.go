package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// TestVerifyBucketPollIsOneRead checks that polling a verification costs
// one read of its record and no write, and never runs the checks again.
func TestVerifyBucketPollIsOneRead(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
	member := e.keys["acme/member"]
	wantConnected(t, e.pollUntilFinal(t, "acme", member, body, 15*time.Second), false)
	gets, writes, runs := e.apiStore.gets.Load(), e.apiStore.writes.Load(), e.runs.Load()
	const polls = 10
	for range polls {
		if a := e.post("acme", member, body); a.ConnectionStatus != "connected" {
			t.Fatalf("poll: %s", a.body)
		}
	}
	if g, w, r := e.apiStore.gets.Load()-gets, e.apiStore.writes.Load()-writes, e.runs.Load()-runs; g != polls || w != 0 || r != 0 {
		t.Errorf("%d polls: %d record reads, %d writes, %d runs; want %d, 0, 0", polls, g, w, r, polls)
	}
}

// BenchmarkVerifyBucketPoll measures one poll of the bucket-verify API
// through the whole handler (request ID, authentication by API key, org,
// body validation, record key, one SQLite read, JSON), on a record that
// is connected (a real verification against MinIO ran first) and on one
// still connecting (stored directly, with no worker). Run: make bench, or
//
//	go test -run '^$' -bench BenchmarkVerifyBucketPoll -benchmem ./shared/httpapi/
func BenchmarkVerifyBucketPoll(b *testing.B) {
	e := newVerifyEnv(b, verifyOpts{})
	h := e.srv.Config.Handler
	member := e.keys["acme/member"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	connected := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket,
		"endpoint": e.minio.Endpoint, "prefix": "data/"}
	wantConnected(b, e.pollUntilFinal(b, "acme", member, connected, 15*time.Second), false)

	// A record in connecting that no worker will touch.
	connecting := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket,
		"endpoint": e.minio.Endpoint, "prefix": "pending/"}
	raw, _ := json.Marshal(connecting)
	p, err := bucketverify.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	org := e.orgs["acme"].ID
	key := verification.RecordKey(e.verifyKey, org, p.Request, p.SecretKey)
	if err := e.store.CreateVerification(b.Context(), verification.NewRecord(time.Now(), key, org, p.Request, nil, time.Hour)); err != nil {
		b.Fatal(err)
	}

	for _, bc := range []struct {
		name  string
		body  map[string]any
		state string
	}{{"connected", connected, "connected"}, {"connecting", connecting, "connecting"}} {
		b.Run(bc.name, func(b *testing.B) {
			raw, _ := json.Marshal(bc.body)
			want := []byte(`"connectionStatus":"` + bc.state + `"`)
			path := verifyPath(e.orgID("acme"))
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", path, bytes.NewReader(raw))
				req.Header.Set("x-api-key", member)
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), want) {
					b.Fatalf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
				}
			}
		})
	}
}
