package corscheck_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

const appOrigin = "https://app.example.com"

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestJudge reads answers the way the Fetch standard's CORS check and
// CORS-preflight fetch do, for a request without credentials.
func TestJudge(t *testing.T) {
	put := corscheck.Preflight{URL: "https://b.example/k", Origin: appOrigin, Method: "PUT", Headers: []string{"Content-Type", "x-ms-blob-type"}}
	get := corscheck.Preflight{URL: "https://b.example/k", Origin: appOrigin, Method: "GET"}
	allowAll := []string{"Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "GET, PUT", "Access-Control-Allow-Headers", "content-type,x-ms-blob-type"}
	tests := []struct {
		name       string
		p          corscheck.Preflight
		status     int
		h          http.Header
		want       corscheck.Code
		wantHeader string
		silent     bool
	}{
		{name: "allowed", p: put, status: 200, h: header(allowAll...)},
		{name: "204 is ok", p: put, status: 204, h: header(allowAll...)},
		{name: "star origin without credentials", p: put, status: 200, h: header("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*")},
		{name: "header names case-insensitive", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "Content-Type, X-MS-Blob-Type")},
		{name: "lists over several header lines", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "GET", "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "content-type", "Access-Control-Allow-Headers", "x-ms-blob-type")},
		{name: "star methods", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "*", "Access-Control-Allow-Headers", "*")},
		{name: "GET is safelisted", p: get, status: 200, h: header("Access-Control-Allow-Origin", appOrigin)},
		{name: "no ACAO on 403", p: put, status: 403, h: header(), want: corscheck.CodeOriginNotAllowed, silent: true},
		{name: "no ACAO on 200", p: put, status: 200, h: header("Access-Control-Allow-Methods", "PUT"), want: corscheck.CodeOriginNotAllowed, silent: true},
		{name: "other origin", p: put, status: 200, h: header("Access-Control-Allow-Origin", "https://other.example", "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeOriginNotAllowed},
		{name: "origin differs in port", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin+":8443", "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeOriginNotAllowed},
		{name: "two ACAO values", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeOriginNotAllowed},
		{name: "ACAO list", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin+", https://other.example", "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeOriginNotAllowed},
		{name: "PUT not listed", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "GET, HEAD", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeMethodNotAllowed},
		{name: "no Allow-Methods", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Headers", "*"), want: corscheck.CodeMethodNotAllowed},
		{name: "methods are case-sensitive", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "put", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeMethodNotAllowed},
		{name: "header missing", p: put, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "content-type"), want: corscheck.CodeHeaderNotAllowed, wantHeader: "x-ms-blob-type"},
		{name: "no Allow-Headers", p: put, status: 200, h: header("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "PUT"), want: corscheck.CodeHeaderNotAllowed, wantHeader: "content-type"},
		{name: "star does not cover authorization", p: corscheck.Preflight{URL: put.URL, Origin: appOrigin, Method: "PUT", Headers: []string{"Authorization"}}, status: 200, h: header("Access-Control-Allow-Origin", appOrigin, "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "*"), want: corscheck.CodeHeaderNotAllowed, wantHeader: "authorization"},
		{name: "5xx", p: put, status: 503, h: header(allowAll...), want: corscheck.CodeUnknown},
		{name: "429", p: put, status: 429, h: header(), want: corscheck.CodeUnknown},
		{name: "redirect", p: put, status: 307, h: header("Location", "https://elsewhere.example/"), want: corscheck.CodeUnknown},
		{name: "4xx with a matching ACAO", p: put, status: 404, h: header(allowAll...), want: corscheck.CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := corscheck.Judge(tt.p, tt.status, tt.h)
			if a.Code != tt.want || a.Allowed != (tt.want == "") || a.Header != tt.wantHeader || a.Silent != tt.silent || a.Status != tt.status {
				t.Fatalf("Judge = %+v; want code %q, header %q, silent %v", a, tt.want, tt.wantHeader, tt.silent)
			}
			if a.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

// TestSend checks the request a preflight is: its method, headers and URL
// (without the presigned query), and that a redirect is not followed.
func TestSend(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/k", http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
		w.Header().Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
		_, _ = w.Write([]byte(strings.Repeat("x", 1<<20))) // a body, not read whole
	}))
	defer srv.Close()
	client := netguard.Policy{AllowPrivate: true}.HTTPClient()

	a := corscheck.Send(t.Context(), client, corscheck.Preflight{
		URL: srv.URL + "/bucket/key%20x?X-Amz-Signature=secret&sig=secret", Origin: appOrigin, Method: "PUT",
		Headers: []string{"X-Ms-Blob-Type", "Content-Type", "content-type"},
	})
	if !a.Allowed {
		t.Fatalf("Send = %+v, want allowed", a)
	}
	mu.Lock()
	r := got
	mu.Unlock()
	if r.Method != http.MethodOptions || r.URL.RawQuery != "" || r.URL.EscapedPath() != "/bucket/key%20x" {
		t.Errorf("sent %s %s, want OPTIONS /bucket/key%%20x without the query", r.Method, r.URL)
	}
	for k, want := range map[string]string{
		"Origin": appOrigin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type,x-ms-blob-type",
	} {
		if v := r.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}

	a = corscheck.Send(t.Context(), client, corscheck.Preflight{URL: srv.URL + "/redirect", Origin: appOrigin, Method: "PUT"})
	if a.Code != corscheck.CodeUnknown || a.Status != http.StatusTemporaryRedirect {
		t.Errorf("Send to a redirect = %+v, want cors_unknown with status 307", a)
	}
}

func TestSendFailures(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)

	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		a := corscheck.Send(ctx, netguard.Policy{AllowPrivate: true}.HTTPClient(), corscheck.Preflight{URL: srv.URL + "/k", Origin: appOrigin, Method: "PUT"})
		if a.Code != corscheck.CodeUnknown || !strings.Contains(a.Reason, "in time") {
			t.Errorf("Send to a server that does not answer = %+v, want cors_unknown saying it timed out", a)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s past a 100ms deadline", d)
		}
	})
	t.Run("blocked by netguard", func(t *testing.T) {
		a := corscheck.Send(t.Context(), netguard.Policy{}.HTTPClient(), corscheck.Preflight{URL: srv.URL + "/k?sig=secret", Origin: appOrigin, Method: "PUT"})
		if a.Code != corscheck.CodeUnknown || strings.Contains(a.Reason, "secret") {
			t.Errorf("Send to loopback under the production policy = %+v, want cors_unknown without the query", a)
		}
	})
	t.Run("not a URL", func(t *testing.T) {
		a := corscheck.Send(t.Context(), netguard.Policy{}.HTTPClient(), corscheck.Preflight{URL: "/relative", Origin: appOrigin, Method: "PUT"})
		if a.Code != corscheck.CodeUnknown {
			t.Errorf("Send to a relative URL = %+v, want cors_unknown", a)
		}
	})
}
