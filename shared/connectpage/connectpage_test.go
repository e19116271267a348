package connectpage_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/connectpage"
)

func TestHandler(t *testing.T) {
	h := connectpage.Handler()
	for _, tt := range []struct {
		name, method, path string
		status             int
		ctype, contains    string
	}{
		{"page", "GET", "/connect/", http.StatusOK, "text/html; charset=utf-8", `<script src="connect.js" defer></script>`},
		{"script", "GET", "/connect/connect.js", http.StatusOK, "text/javascript; charset=utf-8", "X-Connect-Session"},
		{"style", "GET", "/connect/connect.css", http.StatusOK, "text/css; charset=utf-8", "@media (max-width: 480px)"},
		{"head", "HEAD", "/connect/", http.StatusOK, "text/html; charset=utf-8", ""},
		{"without slash", "GET", "/connect", http.StatusMovedPermanently, "", ""},
		{"unknown", "GET", "/connect/other.js", http.StatusNotFound, "", ""},
		{"the index by name", "GET", "/connect/index.html", http.StatusOK, "text/html; charset=utf-8", "Connect your bucket"},
		{"a directory", "GET", "/connect/assets/connect.js", http.StatusNotFound, "", ""},
		{"post", "POST", "/connect/", http.StatusMethodNotAllowed, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			hd := rec.Header()
			if hd.Get("Content-Type") != tt.ctype || hd.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.Contains(hd.Get("Content-Security-Policy"), "script-src 'self'") ||
				!strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				hd.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers %v", hd)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Error("HEAD has a body")
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/connect", nil))
	if loc := rec.Header().Get("Location"); loc != "/connect/" {
		t.Errorf("redirect to %q, want /connect/", loc)
	}
}
