package testenv

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFakeGCS checks the behaviour gcsblob relies on: buckets and objects
// through the JSON API, 404 for a missing bucket or object, and an upload
// to a V4-signed-style URL on the server's own host (fake-gcs-server does
// not check the signature, only that the query names a V4 algorithm).
func TestFakeGCS(t *testing.T) {
	g := SharedFakeGCS(t)
	if again := SharedFakeGCS(t); again != g {
		t.Fatal("SharedFakeGCS started a second server")
	}
	bucket := BucketName(t, "gcs")
	g.CreateBucket(t, bucket)
	g.PutObject(t, bucket, "dir/a.txt", []byte("hello"))

	got, err := g.GetObject(t, bucket, "dir/a.txt")
	if err != nil || string(got) != "hello" {
		t.Fatalf("GetObject = %q, %v; want %q", got, err, "hello")
	}
	tests := []struct {
		name, bucket, key string
	}{
		{name: "missing object", bucket: bucket, key: "nope"},
		{name: "missing bucket", bucket: BucketName(t, "missing"), key: "dir/a.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := g.GetObject(t, tt.bucket, tt.key); err == nil || !strings.Contains(err.Error(), "404") {
				t.Fatalf("GetObject = %v, want a 404 error", err)
			}
		})
	}

	t.Run("signed URL upload", func(t *testing.T) {
		q := url.Values{"X-Goog-Algorithm": {"GOOG4-RSA-SHA256"}, "X-Goog-Signature": {"00"}}
		u := "http://" + g.Host + "/" + bucket + "/up/load.bin?" + q.Encode()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, u, bytes.NewReader([]byte("signed")))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT to signed URL: %s", resp.Status)
		}
		if got, err := g.GetObject(t, bucket, "up/load.bin"); err != nil || string(got) != "signed" {
			t.Fatalf("GetObject after signed PUT = %q, %v", got, err)
		}
	})
}

// TestStartFakeGCS checks that a per-test server starts, serves and is
// stopped at cleanup.
func TestStartFakeGCS(t *testing.T) {
	var g *FakeGCS
	t.Run("run", func(t *testing.T) {
		g = StartFakeGCS(t)
		g.CreateBucket(t, BucketName(t, "own"))
	})
	select {
	case <-g.done:
	default:
		t.Fatal("fake-gcs-server still running after its test ended")
	}
}
