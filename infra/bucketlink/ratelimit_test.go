package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
)

func TestServeRateConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want ratelimit.Limits
		ok   bool
	}{
		{"defaults", nil, nil, ratelimit.DefaultLimits, true},
		{"flags", nil, []string{"--rate-verify", "10/s,burst=5", "--rate-write", "off", "--rate-read", "100/min"}, ratelimit.Limits{
			Verify: ratelimit.Rate{Count: 10, Per: time.Second, Burst: 5},
			Read:   ratelimit.Rate{Count: 100, Per: time.Minute, Burst: 100},
		}, true},
		{"environment", map[string]string{"BUCKETLINK_RATE_WRITE": "5/min,burst=1"}, nil, ratelimit.Limits{
			Verify: ratelimit.DefaultLimits.Verify, Write: ratelimit.Rate{Count: 5, Per: time.Minute, Burst: 1}, Read: ratelimit.DefaultLimits.Read,
		}, true},
		{"a flag wins over the environment", map[string]string{"BUCKETLINK_RATE_READ": "5/min"}, []string{"--rate-read", "off"}, ratelimit.Limits{
			Verify: ratelimit.DefaultLimits.Verify, Write: ratelimit.DefaultLimits.Write,
		}, true},
		{"bad flag", nil, []string{"--rate-verify", "lots"}, ratelimit.Limits{}, false},
		{"bad environment", map[string]string{"BUCKETLINK_RATE_READ": "1/min,burst=0"}, nil, ratelimit.Limits{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"BUCKETLINK_RATE_VERIFY", "BUCKETLINK_RATE_WRITE", "BUCKETLINK_RATE_READ"} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := parseServeConfig(tt.args)
			if (err == nil) != tt.ok {
				t.Fatalf("parseServeConfig(%q) = %v, want ok %v", tt.args, err, tt.ok)
			}
			if tt.ok && cfg.RateLimits != tt.want {
				t.Errorf("limits %s, want %s", cfg.RateLimits, tt.want)
			}
		})
	}
}

// TestServeRateLimits: serve limits each key in memory, with the headers
// and a 429 past the burst.
func TestServeRateLimits(t *testing.T) {
	t.Setenv("BUCKETLINK_RATE_READ", "1/h,burst=2")
	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		status    int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		req, _ := http.NewRequest("GET", base+"/api/v1/storage-configs/", nil)
		req.Header.Set("X-Avala-Api-Key", strings.TrimSpace(string(key)))
		resp, err := serveClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want.status || resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != want.remaining {
			t.Errorf("request %d: %d, limit %q, remaining %q: %s", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"), b)
		}
		if want.status == 429 && (resp.Header.Get("Retry-After") != "3600" || !strings.Contains(string(b), "Request was throttled. Expected available in 3600 seconds.")) {
			t.Errorf("429: Retry-After %q, %s", resp.Header.Get("Retry-After"), b)
		}
	}
}
