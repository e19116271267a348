package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
)

// hostileDo sends a request to srv as a client that chose its Host and
// forwarding headers, and decodes the JSON answer into out.
func hostileDo(t *testing.T, srv *httptest.Server, method, path, key string, body any, out any) http.Header {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	return resp.Header
}

// pathOf returns the path and query of a link, for the next request.
func pathOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/prefix") + "?" + u.RawQuery
}

// TestLinksOnThePublicURL sends every request that answers a link with
// Host: evil.example (and X-Forwarded-Host and -Proto): Location, and the
// next and previous links of the list and of a config's verifications,
// are on the configured public base URL all the same (its path prefix
// kept); on the harness's server, whose base is its own address, on that
// address; and without a base they are relative, never on the Host.
func TestLinksOnThePublicURL(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	base, err := httpapi.ParsePublicURL("https://bucketlink.example.com/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	public := httptest.NewServer(openapitest.Handler(t, httpapi.WithPublicURL(e.api.Handler(), base)))
	t.Cleanup(public.Close)
	// Without a public URL the links are relative, which the document
	// (absolute URLs, as every deployment writes them) does not describe.
	bare := httptest.NewServer(e.api.Handler())
	t.Cleanup(bare.Close)
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	const want = "https://bucketlink.example.com/prefix/api/v1/storage-configs/"

	var created struct{ UID string }
	h := hostileDo(t, public, "POST", "/api/v1/storage-configs/", admin, e.compatBody(bucket, ak, sk), &created)
	if got := h.Get("Location"); got != want+created.UID+"/" {
		t.Errorf("Location = %q, want %q", got, want+created.UID+"/")
	}
	h = hostileDo(t, e.srv, "POST", "/api/v1/storage-configs/", admin, e.compatBody(bucket, ak, sk), nil)
	if got := h.Get("Location"); !strings.HasPrefix(got, e.srv.URL+"/api/v1/storage-configs/") {
		t.Errorf("Location on the harness's server = %q, want it on %s", got, e.srv.URL)
	}
	h = hostileDo(t, bare, "POST", "/api/v1/storage-configs/", admin, e.compatBody(bucket, ak, sk), nil)
	if got := h.Get("Location"); !strings.HasPrefix(got, "/api/v1/storage-configs/") {
		t.Errorf("Location without a public URL = %q, want a relative link", got)
	}

	type page struct {
		Next, Previous *string
	}
	var p page
	hostileDo(t, public, "GET", "/api/v1/storage-configs/?limit=1", admin, nil, &p)
	if p.Next == nil || !strings.HasPrefix(*p.Next, want+"?") || !strings.Contains(*p.Next, "limit=1") {
		t.Fatalf("next = %v, want a link on %s", p.Next, want)
	}
	hostileDo(t, public, "GET", pathOf(t, *p.Next), admin, nil, &p)
	if p.Previous == nil || !strings.HasPrefix(*p.Previous, want+"?") || p.Next == nil || !strings.HasPrefix(*p.Next, want+"?") {
		t.Errorf("second page: next %v, previous %v; want both on %s", p.Next, p.Previous, want)
	}
	hostileDo(t, bare, "GET", "/api/v1/storage-configs/?limit=1", admin, nil, &p)
	if p.Next == nil || !strings.HasPrefix(*p.Next, "/api/v1/storage-configs/?") {
		t.Errorf("next without a public URL = %v, want a relative link", p.Next)
	}

	// The config's verifications: the create, then a test.
	hostileDo(t, public, "POST", "/api/v1/storage-configs/"+created.UID+"/test/", admin, nil, nil)
	history := want + created.UID + "/verifications/?"
	hostileDo(t, public, "GET", "/api/v1/storage-configs/"+created.UID+"/verifications/?limit=1", admin, nil, &p)
	if p.Next == nil || !strings.HasPrefix(*p.Next, history) {
		t.Fatalf("verifications: next = %v, want a link on %s", p.Next, history)
	}
	hostileDo(t, public, "GET", pathOf(t, *p.Next), admin, nil, &p)
	if p.Previous == nil || !strings.HasPrefix(*p.Previous, history) {
		t.Errorf("verifications, second page: previous = %v, want a link on %s", p.Previous, history)
	}
}

func TestParsePublicURL(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"https://api.example.com", "https://api.example.com"},
		{"https://api.example.com/", "https://api.example.com"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{" https://example.com/bucketlink/ ", "https://example.com/bucketlink"},
		{"example.com", ""},
		{"ftp://example.com", ""},
		{"https://", ""},
		{"https://user:pw@example.com", ""},
		{"https://example.com/?a=b", ""},
		{"https://example.com/#x", ""},
	} {
		u, err := httpapi.ParsePublicURL(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParsePublicURL(%q) = %v, want an error", tt.in, u)
		case tt.want != "" && (err != nil || u.String() != tt.want):
			t.Errorf("ParsePublicURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}
