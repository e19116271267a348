package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestServePublicURL runs serve with BUCKETLINK_PUBLIC_URL and sends
// requests with Host: evil.example: Location and next are on the public
// URL. Without it, they are on the address serve listens on.
func TestServePublicURL(t *testing.T) {
	m := testenv.StartMinIO(t)
	t.Setenv("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "true")
	bucket := testenv.BucketName(t, "links")
	m.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	body := map[string]any{"name": "MinIO", "provider": "s3_compatible", "s3_endpoint_url": m.Endpoint,
		"s3_bucket_name": bucket, "s3_access_key_id": ak, "s3_secret_access_key": sk}
	for _, tt := range []struct {
		name, public string
	}{
		{"configured", "https://bucketlink.example.com"},
		{"default", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BUCKETLINK_PUBLIC_URL", tt.public)
			data := filepath.Join(t.TempDir(), "data")
			base, _ := startServe(t, data)
			want := tt.public
			if want == "" {
				want = base
			}
			want += "/api/v1/storage-configs/"
			key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			do := func(method, query string, body any, status int, out any) http.Header {
				t.Helper()
				var r io.Reader
				if body != nil {
					b, _ := json.Marshal(body)
					r = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(method, base+"/api/v1/storage-configs/"+query, r)
				req.Host = "evil.example"
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("X-Avala-Api-Key", strings.TrimSpace(string(key)))
				resp, err := serveClient(t).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != status {
					t.Fatalf("%s: %d %s, want %d", method, resp.StatusCode, raw, status)
				}
				if out != nil {
					if err := json.Unmarshal(raw, out); err != nil {
						t.Fatal(err)
					}
				}
				return resp.Header
			}
			var created struct{ UID string }
			h := do("POST", "", body, http.StatusCreated, &created)
			if got := h.Get("Location"); got != want+created.UID+"/" {
				t.Errorf("Location = %q, want %q", got, want+created.UID+"/")
			}
			do("POST", "", body, http.StatusCreated, nil)
			var page struct{ Next *string }
			do("GET", "?limit=1", nil, http.StatusOK, &page)
			if page.Next == nil || !strings.HasPrefix(*page.Next, want+"?") {
				t.Errorf("next = %v, want a link on %s", page.Next, want)
			}
		})
	}
}

func TestServePublicURLFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--public-url", "https://bucketlink.example.com/"}, true},
		{[]string{"--public-url", "https://example.com/bucketlink"}, true},
		{[]string{"--public-url", "bucketlink.example.com"}, false},
		{[]string{"--public-url", "https://example.com/?x=1"}, false},
	} {
		cfg, err := parseServeConfig(tt.args)
		if (err == nil) != tt.ok {
			t.Errorf("parseServeConfig(%q) = %v, want ok %v", tt.args, err, tt.ok)
		}
		if err == nil && strings.HasSuffix(cfg.PublicURL.String(), "/") {
			t.Errorf("public URL %s keeps its trailing slash", cfg.PublicURL)
		}
	}
	for _, tt := range []struct {
		addr, scheme, want string
	}{
		{"127.0.0.1:8080", "http", "http://127.0.0.1:8080"},
		{"[::]:8443", "https", "https://localhost:8443"},
		{"0.0.0.0:8080", "http", "http://localhost:8080"},
		{"[::1]:8080", "http", "http://[::1]:8080"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := servePublicURL(serveConfig{}, tt.scheme, addr).String(); got != tt.want {
			t.Errorf("servePublicURL(%s, %s) = %s, want %s", tt.addr, tt.scheme, got, tt.want)
		}
	}
}
