package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/metrics/metricstest"
)

// TestServeMetrics: after a bucket verification that connects, one whose
// secret is wrong and a request past its rate limit, GET /metrics answers
// Prometheus text (read with Prometheus's own parser) that counts each by
// provider, outcome, check code and class, with the queue age of both
// verifications, and names no bucket, key or org.
func TestServeMetrics(t *testing.T) {
	m := testenv.StartMinIO(t)
	t.Setenv("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "true")
	t.Setenv("BUCKETLINK_RATE_READ", "1/h,burst=1")
	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/v1/api/organizations/", key: strings.TrimSpace(string(key))}

	bucket := testenv.BucketName(t, "metrics")
	m.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	verify := func(secret, want string) {
		t.Helper()
		body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": secret, "bucket": bucket, "endpoint": m.Endpoint}
		var ans struct{ ConnectionStatus string }
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			raw := c.do("POST", provision.DefaultOrgSlug+"/buckets/verify", body, http.StatusOK, &ans)
			if ans.ConnectionStatus != "connecting" {
				if ans.ConnectionStatus != want {
					t.Fatalf("status %q, want %q: %s", ans.ConnectionStatus, want, raw)
				}
				return
			}
			if time.Now().After(end) {
				t.Fatal("still connecting")
			}
		}
	}
	verify(sk, "connected")
	verify(sk+"wrong", "error")

	// Two reads on a burst of one: the second is answered 429.
	for i, want := range []int{200, 429} {
		req, _ := http.NewRequest("GET", base+"/api/v1/storage-configs/", nil)
		req.Header.Set("X-Avala-Api-Key", c.key)
		resp, err := serveClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("read %d: %d, want %d", i, resp.StatusCode, want)
		}
	}

	resp, err := serveClient(t).Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != metrics.ContentType {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := string(raw)
	for _, secret := range []string{bucket, ak, sk, provision.DefaultOrgSlug} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics names %q", secret)
		}
	}
	fams := metricstest.ParseText(t, text)
	value := func(name string, want map[string]string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s in\n%s", name, text)
		}
		var sum float64
		for _, s := range f.GetMetric() {
			if hasLabels(s, want) {
				sum += s.GetCounter().GetValue() + float64(s.GetHistogram().GetSampleCount())
			}
		}
		return sum
	}
	bucketVerify := map[string]string{"provider": "s3_compatible", "kind": "bucket"}
	if n := value(metrics.Verifications, with(bucketVerify, "outcome", "passed")); n != 1 {
		t.Errorf("passed bucket verifications %v, want 1\n%s", n, text)
	}
	if n := value(metrics.Verifications, with(bucketVerify, "outcome", "failed")); n != 1 {
		t.Errorf("failed bucket verifications %v, want 1", n)
	}
	if n := value(metrics.VerificationDuration, bucketVerify); n != 2 {
		t.Errorf("%v durations, want 2", n)
	}
	if n := value(metrics.CheckFailures, map[string]string{"provider": "s3_compatible", "check": "list"}); n != 1 {
		t.Errorf("failed list checks %v, want 1\n%s", n, text)
	}
	if n := value(metrics.RateLimited, map[string]string{"class": "read"}); n != 1 {
		t.Errorf("rate-limited reads %v, want 1", n)
	}
	if n := value(metrics.QueueAge, map[string]string{"kind": "verify"}); n != 2 {
		t.Errorf("queue ages %v, want 2", n)
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}
