package netguard_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/netguard"
)

// target is a plain-HTTP test server on 127.0.0.1 that counts its hits.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "direct")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, c *http.Client, rawURL string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return string(body), nil
}

// withHost returns srv's URL with its host replaced by host (port kept).
func withHost(t *testing.T, srv *httptest.Server, host string) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}

func TestDialerBlocks(t *testing.T) {
	tests := []struct {
		name    string
		network string
		address string
		want    string
	}{
		{"lambda runtime api", "tcp", "127.0.0.1:9001", "loopback"},
		{"v6 loopback", "tcp", "[::1]:9001", "loopback"},
		{"instance metadata", "tcp", "169.254.169.254:80", "link-local"},
		{"mapped private", "tcp", "[::ffff:10.0.0.1]:443", "private"},
		{"private", "tcp4", "192.168.1.1:80", "private"},
		{"udp loopback", "udp", "127.0.0.53:53", "loopback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := netguard.Policy{}.Dialer(time.Second).DialContext(ctx, tc.network, tc.address)
			if err == nil {
				conn.Close()
				t.Fatalf("dial %s succeeded, want it blocked", tc.address)
			}
			var be *netguard.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("dial %s: %v, want a *BlockedError", tc.address, err)
			}
			if be.Range != tc.want {
				t.Errorf("range = %q, want %q", be.Range, tc.want)
			}
		})
	}
}

func TestDialerAllowPrivate(t *testing.T) {
	srv, _ := target(t)
	addr := srv.Listener.Addr().String()
	if _, err := (netguard.Policy{}).Dialer(time.Second).Dial("tcp", addr); !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("guarded dial %s: %v, want ErrBlocked", addr, err)
	}
	conn, err := netguard.Policy{AllowPrivate: true}.Dialer(time.Second).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("AllowPrivate dial %s: %v", addr, err)
	}
	conn.Close()
}

func TestHTTPClientBlocksLoopback(t *testing.T) {
	srv, hits := target(t)
	tests := []struct {
		name string
		url  string
	}{
		{"ip literal", srv.URL},
		// https, so that the plain-http refusal does not answer first: the
		// dial is refused before any TLS.
		{"localhost resolved", httpsURL(withHost(t, srv, "localhost"))},
		{"mapped ip literal", withHost(t, srv, "::ffff:127.0.0.1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := get(t, netguard.Policy{}.HTTPClient(), tc.url)
			var be *netguard.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("GET %s: %v, want a *BlockedError", tc.url, err)
			}
			if be.Range != "loopback" {
				t.Errorf("range = %q, want loopback", be.Range)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("blocked requests reached the server %d times", n)
	}

	// The same requests succeed with AllowPrivate.
	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	for _, u := range []string{srv.URL, withHost(t, srv, "localhost")} {
		body, err := get(t, c, u)
		if err != nil || body != "direct" {
			t.Fatalf("AllowPrivate GET %s = %q, %v", u, body, err)
		}
	}
}

// httpsURL is u with the scheme https.
func httpsURL(u string) string { return "https" + strings.TrimPrefix(u, "http") }

func TestHTTPClientRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/final", http.StatusFound)
	})
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "final") })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	if body, err := get(t, c, srv.URL+"/start"); err != nil || body != "final" {
		t.Fatalf("redirect chain: %q, %v", body, err)
	}
	if _, err := get(t, c, srv.URL+"/loop"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("redirect loop: %v, want a stopped-after-redirects error", err)
	}

	// A redirect to a blocked address is refused before dialling.
	guarded := netguard.Policy{}.HTTPClient()
	from, _ := http.NewRequest(http.MethodGet, "https://bucket.example.com/", nil)
	for _, to := range []string{"http://169.254.169.254/latest/meta-data/", "http://[::1]:9001/", "http://[::ffff:127.0.0.1]/"} {
		req, _ := http.NewRequest(http.MethodGet, to, nil)
		if err := guarded.CheckRedirect(req, []*http.Request{from}); !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("redirect to %s: %v, want ErrBlocked", to, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "https://8.8.8.8/", nil)
	if err := guarded.CheckRedirect(req, []*http.Request{from}); err != nil {
		t.Errorf("redirect to a public address: %v", err)
	}
}

func TestHTTPClientTransport(t *testing.T) {
	c := netguard.Policy{}.HTTPClient()
	if c.Timeout != 0 {
		t.Errorf("Client.Timeout = %v, want 0 (callers use ctx deadlines)", c.Timeout)
	}
	if _, ok := c.Transport.(*netguard.Transport); !ok {
		t.Fatalf("Transport is %T, want *netguard.Transport", c.Transport)
	}
	tr := netguard.BaseTransport(c)
	if tr.Proxy != nil {
		t.Error("Transport.Proxy is set; a proxy would bypass the address check")
	}
	if tr.DialContext == nil || tr.DialTLSContext != nil || tr.Dial != nil || tr.DialTLS != nil {
		t.Error("Transport must dial only through DialContext")
	}
	if !tr.ForceAttemptHTTP2 || tr.TLSHandshakeTimeout <= 0 || tr.IdleConnTimeout <= 0 || tr.MaxIdleConnsPerHost <= 0 {
		t.Errorf("Transport settings: %+v", tr)
	}
	if tr.MaxResponseHeaderBytes != netguard.MaxResponseHeaderBytes {
		t.Errorf("MaxResponseHeaderBytes = %d, want %d", tr.MaxResponseHeaderBytes, netguard.MaxResponseHeaderBytes)
	}
	if c2 := (netguard.Policy{}).HTTPClient(); c2 == c || c2.Transport == c.Transport || netguard.BaseTransport(c2) == tr {
		t.Error("HTTPClient must return a fresh client and transport")
	}
	if p, ok := netguard.PolicyOf(netguard.Policy{AllowPrivate: true}.HTTPClient()); !ok || !p.AllowPrivate {
		t.Errorf("PolicyOf(HTTPClient()) = %+v, %v", p, ok)
	}
	if _, ok := netguard.PolicyOf(&http.Client{}); ok {
		t.Error("PolicyOf(another client) reported a policy")
	}
}

// TestHTTPClientIgnoresProxyEnv sets every proxy variable to a recording
// proxy and checks that requests still go direct. Go's environment proxy
// rules always bypass the proxy for "localhost" and loopback IPs, which
// would prove nothing, so targets are named by the host proxytarget.test,
// which a wrapper around the client's own guarded DialContext maps to
// 127.0.0.1.
func TestHTTPClientIgnoresProxyEnv(t *testing.T) {
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		if r.Method == http.MethodConnect {
			http.Error(w, "no tunnels here", http.StatusForbidden)
			return
		}
		io.WriteString(w, "via proxy")
	}))
	t.Cleanup(proxy.Close)
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	plain, _ := target(t)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "direct")
	}))
	t.Cleanup(tlsSrv.Close)
	plainURL := withHost(t, plain, testHost)
	tlsURL := withHost(t, tlsSrv, testHost)

	// Control: a transport that does use the proxy is caught by this test.
	ctl := &http.Client{Transport: &http.Transport{
		Proxy:       http.ProxyURL(mustParse(t, proxy.URL)),
		DialContext: mapTestHost((&net.Dialer{}).DialContext),
	}}
	if body, err := get(t, ctl, plainURL); err != nil || body != "via proxy" || proxied.Load() != 1 {
		t.Fatalf("control request through the proxy: %q, %v, %d proxied", body, err, proxied.Load())
	}
	proxied.Store(0)

	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	tr := netguard.BaseTransport(c)
	tr.DialContext = mapTestHost(tr.DialContext)
	tr.TLSClientConfig = &tls.Config{
		RootCAs:    tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
		ServerName: "example.com", // a name in httptest's certificate
	}
	for _, u := range []string{plainURL, tlsURL} {
		body, err := get(t, c, u)
		if err != nil || body != "direct" {
			t.Errorf("GET %s with proxy env set: %q, %v; want a direct response", u, body, err)
		}
	}

	// Guarded: still blocked at the dialer (https) or refused before it
	// (plain http), never handed to the proxy.
	guarded := netguard.Policy{}.HTTPClient()
	gtr := netguard.BaseTransport(guarded)
	gtr.DialContext = mapTestHost(gtr.DialContext)
	if _, err := get(t, guarded, tlsURL); !errors.Is(err, netguard.ErrBlocked) {
		t.Errorf("guarded GET %s with proxy env set: %v, want ErrBlocked", tlsURL, err)
	}
	if _, err := get(t, guarded, plainURL); !errors.Is(err, netguard.ErrPlainHTTP) {
		t.Errorf("guarded GET %s with proxy env set: %v, want ErrPlainHTTP", plainURL, err)
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("%d requests went through the proxy", n)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const testHost = "proxytarget.test"

// mapTestHost wraps dial so that testHost:port dials 127.0.0.1:port.
func mapTestHost(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && host == testHost {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dial(ctx, network, addr)
	}
}
