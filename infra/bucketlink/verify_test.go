package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestServeVerifyBucket runs the bucket-verify API end to end over HTTP
// against `bucketlink serve` and its in-process worker pool, with MinIO as
// every S3-speaking provider: other (its endpoint in the request), s3 (the
// operator's BUCKETLINK_AWS_S3_ENDPOINT) and google with HMAC keys (the
// operator's BUCKETLINK_GCS_HMAC_ENDPOINT; fake-gcs-server does not serve
// the HMAC-signed XML API). Each answers connecting, then connected; bytes
// PUT to the signed URL with a plain HTTP client are in the bucket.
func TestServeVerifyBucket(t *testing.T) {
	m := testenv.StartMinIO(t)
	for k, v := range map[string]string{
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS": "true",
		"BUCKETLINK_AWS_S3_ENDPOINT":         m.Endpoint,
		"BUCKETLINK_GCS_HMAC_ENDPOINT":       m.Endpoint,
		"BUCKETLINK_GCS_HMAC_REGION":         m.Region,
		"BUCKETLINK_VERIFY_WORKERS":          "2",
	} {
		t.Setenv(k, v)
	}
	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/v1/api/organizations/", key: strings.TrimSpace(string(key))}

	for _, provider := range []string{"other", "s3", "google"} {
		t.Run(provider, func(t *testing.T) {
			c.t = t
			bucket := testenv.BucketName(t, "serve")
			m.CreateBucket(t, bucket)
			m.PutObject(t, bucket, "data/train/info.labels", []byte("{}"))
			ak, sk := testenv.NewCredentials(t)
			ak = strings.ToUpper(ak)
			if provider == "google" {
				ak = anyblobtest.HMACAccessID(t)
			}
			m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
			body := map[string]any{"storageProvider": provider, "accessKey": ak, "secretKey": sk, "bucket": bucket, "prefix": "data"}
			if provider == "other" {
				body["endpoint"] = m.Endpoint
			}
			var ans struct {
				Success           bool
				ConnectionStatus  string
				ConnectionError   string
				SignedURL         string
				HasInfoLabelsFile bool
				Files             []struct{ Name, FolderName string }
			}
			raw := c.do("POST", provision.DefaultOrgSlug+"/buckets/verify", body, http.StatusOK, &ans)
			if !ans.Success || ans.ConnectionStatus != "connecting" {
				t.Fatalf("first POST: %s", raw)
			}
			for end := time.Now().Add(15 * time.Second); ans.ConnectionStatus == "connecting"; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatal("still connecting")
				}
				raw = c.do("POST", provision.DefaultOrgSlug+"/buckets/verify", body, http.StatusOK, &ans)
			}
			if ans.ConnectionStatus != "connected" || !ans.HasInfoLabelsFile || len(ans.Files) != 1 || ans.Files[0].Name != "info.labels" {
				t.Fatalf("answer: %s", raw)
			}
			if strings.Contains(raw, sk) {
				t.Fatal("the answer carries the secret")
			}
			payload := make([]byte, 100)
			_, _ = rand.Read(payload)
			req, _ := http.NewRequest(http.MethodPut, ans.SignedURL, bytes.NewReader(payload))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT to the signed URL: %d %s", resp.StatusCode, b)
			}
			u, _ := url.Parse(ans.SignedURL)
			objectKey := strings.TrimPrefix(u.Path, "/"+bucket+"/")
			if got, ok := m.GetObject(t, bucket, objectKey); !ok || !bytes.Equal(got, payload) {
				t.Errorf("object %q after the PUT: found %v, %d bytes", objectKey, ok, len(got))
			}
		})
	}
}

func TestServeVerifyConfig(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		ok        bool
		wantLease time.Duration
	}{
		{"defaults", nil, true, 20 * time.Second},
		{"lease follows the verification deadline", []string{"--verify-deadline", "25s"}, true, 30 * time.Second},
		{"explicit", []string{"--verify-workers", "8", "--verify-record-deadline", "10s", "--verify-deadline", "3s", "--verify-lease", "5s"}, true, 5 * time.Second},
		{"no workers", []string{"--verify-workers", "0"}, false, 0},
		{"lease within a verification", []string{"--verify-lease", "10s"}, false, 0},
		{"lease past the record deadline", []string{"--verify-lease", "90s"}, false, 0},
		{"no record deadline", []string{"--verify-record-deadline", "0s"}, false, 0},
		{"reverify period", []string{"--reverify-period", "30s"}, true, 20 * time.Second},
		{"no reverify period", []string{"--reverify-period", "0s"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeConfig(tt.args)
			if (err == nil) != tt.ok {
				t.Fatalf("parseServeConfig(%q) = %v, want ok %v", tt.args, err, tt.ok)
			}
			if tt.ok && cfg.VerifyLease != tt.wantLease {
				t.Errorf("lease = %s, want %s", cfg.VerifyLease, tt.wantLease)
			}
		})
	}
}
