package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// toxiproxyStartTimeout bounds how long toxiproxy-server may take to
// answer its API.
const toxiproxyStartTimeout = 10 * time.Second

// Toxiproxy is a running Toxiproxy server (github.com/Shopify/toxiproxy/v2,
// installed as .tools/bin/toxiproxy-server) on 127.0.0.1: a TCP proxy that
// adds latency and other faults ("toxics") between a client and a server.
// Its helpers drive the server's HTTP API.
type Toxiproxy struct {
	API string // the HTTP API: http://127.0.0.1:port

	*proc
	client *http.Client
	seq    atomic.Int64 // names proxies
}

// Proxy is one TCP proxy of a Toxiproxy server: connections to Listen are
// forwarded to Upstream through the proxy's toxics.
type Proxy struct {
	Name     string
	Listen   string // 127.0.0.1:port
	Upstream string // host:port

	tp *Toxiproxy
}

// Stream is the direction of a toxic: Downstream is the data from the
// upstream server to the client (responses), Upstream the data from the
// client to the server (requests).
type Stream string

// The directions of a toxic.
const (
	Downstream Stream = "downstream"
	Upstream   Stream = "upstream"
)

// StartToxiproxy starts a toxiproxy-server for this test (or benchmark)
// and stops it when the test ends. Startup takes a few milliseconds.
func StartToxiproxy(tb testing.TB) *Toxiproxy {
	tb.Helper()
	bin := ToolPath(tb, "toxiproxy-server")
	tp, err := retryStart(func() (*Toxiproxy, error) { return startToxiproxy(bin) })
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(tp.stop)
	return tp
}

func startToxiproxy(bin string) (*Toxiproxy, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start toxiproxy: %w", err)
	}
	// It logs every connection at info level.
	p, err := startProc(bin, []string{"-host", "127.0.0.1", "-port", strconv.Itoa(port)},
		append(os.Environ(), "LOG_LEVEL=warn"), "", false)
	if err != nil {
		return nil, fmt.Errorf("start toxiproxy: %w", err)
	}
	tp := &Toxiproxy{
		API:    "http://127.0.0.1:" + strconv.Itoa(port),
		proc:   p,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second},
	}
	if err := tp.waitHTTP(tp.API+"/version", statusOK, toxiproxyStartTimeout, 25*time.Millisecond); err != nil {
		tp.stop()
		return nil, fmt.Errorf("start toxiproxy: %w; output: %s", err, tp.output())
	}
	return tp, nil
}

// NewProxy creates a proxy on a free port of 127.0.0.1 to upstream, which
// is host:port or an http(s) URL whose host:port is used (a MinIO's
// Endpoint). It starts without toxics.
func (tp *Toxiproxy) NewProxy(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	if u, err := url.Parse(upstream); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		upstream = u.Host
	}
	in := map[string]any{
		"name":     "proxy" + strconv.FormatInt(tp.seq.Add(1), 10),
		"listen":   "127.0.0.1:0",
		"upstream": upstream,
		"enabled":  true,
	}
	var out struct {
		Name     string `json:"name"`
		Listen   string `json:"listen"`
		Upstream string `json:"upstream"`
	}
	if err := tp.call(http.MethodPost, "/proxies", in, &out); err != nil {
		tb.Fatalf("testenv: toxiproxy: create proxy to %s: %v", upstream, err)
	}
	return &Proxy{Name: out.Name, Listen: out.Listen, Upstream: out.Upstream, tp: tp}
}

// URL returns the proxy's address as an http:// URL.
func (p *Proxy) URL() string { return "http://" + p.Listen }

// AddLatency adds a latency toxic named name to the proxy: every chunk of
// data in stream's direction is held for latency before it is passed on
// (chunks are timed from their arrival, so a stream is delayed, not
// throttled). Latency only on Downstream adds latency once to each
// request-response round trip. It fails the test when the name is taken.
func (p *Proxy) AddLatency(tb testing.TB, name string, stream Stream, latency time.Duration) {
	tb.Helper()
	in := map[string]any{
		"name":       name,
		"type":       "latency",
		"stream":     string(stream),
		"toxicity":   1.0,
		"attributes": map[string]any{"latency": latency.Milliseconds(), "jitter": 0},
	}
	if err := p.tp.call(http.MethodPost, "/proxies/"+p.Name+"/toxics", in, nil); err != nil {
		tb.Fatalf("testenv: toxiproxy: add latency to %s: %v", p.Name, err)
	}
}

// RemoveToxic removes the toxic named name from the proxy.
func (p *Proxy) RemoveToxic(tb testing.TB, name string) {
	tb.Helper()
	if err := p.tp.call(http.MethodDelete, "/proxies/"+p.Name+"/toxics/"+name, nil, nil); err != nil {
		tb.Fatalf("testenv: toxiproxy: remove toxic %s of %s: %v", name, p.Name, err)
	}
}

// call sends in as JSON (none when nil) to the API and decodes a 2xx
// answer into out (unless nil).
func (tp *Toxiproxy) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tp.API+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tp.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
