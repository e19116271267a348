package netguard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/netguard"
)

// The servers in this file are hostile answers written for the tests (an
// endless body, a megabyte of headers, a gzip bomb), not emulators.

// endless writes filler to w until the client hangs up.
func endless(w io.Writer) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// answer starts a server answering status with a body of n bytes (n < 0:
// without end).
func answer(t *testing.T, status int, n int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		if n < 0 {
			endless(w)
			return
		}
		w.Write(bytes.Repeat([]byte("x"), n))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// readAll GETs u with c and reads the whole body.
func readAll(t *testing.T, c *http.Client, u string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return len(b), err
}

func TestBodyLimits(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		n        int
		wantPart string // "" means the whole body reads
		wantRead int
	}{
		{"error body at the limit", http.StatusForbidden, netguard.MaxErrorBodyBytes, "", netguard.MaxErrorBodyBytes},
		{"error body one byte over", http.StatusForbidden, netguard.MaxErrorBodyBytes + 1, netguard.PartErrorBody, netguard.MaxErrorBodyBytes},
		{"endless error body", http.StatusBadRequest, -1, netguard.PartErrorBody, netguard.MaxErrorBodyBytes},
		{"endless 5xx body", http.StatusServiceUnavailable, -1, netguard.PartErrorBody, netguard.MaxErrorBodyBytes},
		{"endless 3xx body", http.StatusMovedPermanently, -1, netguard.PartErrorBody, netguard.MaxErrorBodyBytes},
		{"body at the limit", http.StatusOK, netguard.MaxBodyBytes, "", netguard.MaxBodyBytes},
		{"body one byte over", http.StatusOK, netguard.MaxBodyBytes + 1, netguard.PartBody, netguard.MaxBodyBytes},
		{"endless body", http.StatusPartialContent, -1, netguard.PartBody, netguard.MaxBodyBytes},
		{"small body", http.StatusOK, 100, "", 100},
	}
	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := answer(t, tc.status, tc.n)
			got, err := readAll(t, c, srv.URL)
			if got != tc.wantRead {
				t.Errorf("read %d bytes, want %d", got, tc.wantRead)
			}
			if tc.wantPart == "" {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				return
			}
			var tl *netguard.TooLargeError
			if !errors.As(err, &tl) || !errors.Is(err, netguard.ErrResponseTooLarge) {
				t.Fatalf("read: %v, want a *TooLargeError", err)
			}
			if tl.Part != tc.wantPart || tl.Status != tc.status {
				t.Errorf("TooLargeError %+v, want part %q, status %d", tl, tc.wantPart, tc.status)
			}
			if tl.RetryableError() {
				t.Error("RetryableError() = true; the AWS SDK would try again")
			}
		})
	}
}

// TestBodyLimitCountsDecompressed: a gzip answer the transport decompresses
// is limited by what it expands to.
func TestBodyLimitCountsDecompressed(t *testing.T) {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(make([]byte, 2*netguard.MaxBodyBytes)) // 4 MiB of zeros, a few KiB compressed
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	}))
	t.Cleanup(srv.Close)
	got, err := readAll(t, netguard.Policy{AllowPrivate: true}.HTTPClient(), srv.URL)
	if !errors.Is(err, netguard.ErrResponseTooLarge) || got != netguard.MaxBodyBytes {
		t.Fatalf("read %d bytes, %v; want %d and ErrResponseTooLarge", got, err, netguard.MaxBodyBytes)
	}
}

func TestHeaderLimit(t *testing.T) {
	headers := func(total int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v := strings.Repeat("h", 1<<10)
			for i := range total >> 10 {
				w.Header().Set(fmt.Sprintf("X-Meta-%d", i), v)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	if _, err := readAll(t, c, headers(16<<10).URL); err != nil {
		t.Fatalf("16 KiB of headers (user metadata at its largest): %v", err)
	}
	_, err := readAll(t, c, headers(1<<20).URL)
	var tl *netguard.TooLargeError
	if !errors.As(err, &tl) || tl.Part != netguard.PartHeaders {
		t.Fatalf("1 MiB of headers: %v, want a *TooLargeError for headers", err)
	}
	if want := "response headers larger than 64 KiB"; tl.ResponseTooLarge() != want {
		t.Errorf("ResponseTooLarge() = %q, want %q", tl.ResponseTooLarge(), want)
	}
}

func TestTooLargeMessages(t *testing.T) {
	tests := []struct {
		err  *netguard.TooLargeError
		want string
	}{
		{&netguard.TooLargeError{Part: netguard.PartErrorBody, Limit: netguard.MaxErrorBodyBytes}, "an error answer larger than 64 KiB"},
		{&netguard.TooLargeError{Part: netguard.PartBody, Limit: netguard.MaxBodyBytes}, "an answer larger than 2 MiB"},
	}
	for _, tc := range tests {
		if got := tc.err.ResponseTooLarge(); got != tc.want {
			t.Errorf("ResponseTooLarge() = %q, want %q", got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url  string
		want error // nil, netguard.ErrPlainHTTP or netguard.ErrBlocked
	}{
		{"https://acme.blob.core.windows.net/", nil},
		{"https://s3.example.com:9000", nil},
		{"https://8.8.8.8/", nil},
		{"http://acme.blob.core.windows.net/?sv=2022&sig=secret", netguard.ErrPlainHTTP},
		{"http://s3.example.com:9000", netguard.ErrPlainHTTP},
		{"HTTP://s3.example.com", netguard.ErrPlainHTTP},
		{"ftp://s3.example.com", netguard.ErrPlainHTTP},
		{"http://127.0.0.1:10000/devstoreaccount1", netguard.ErrBlocked},
		{"https://[::1]:9000", netguard.ErrBlocked},
		{"https://169.254.169.254/latest", netguard.ErrBlocked},
		{"https://[fe80::1%25eth0]/", netguard.ErrBlocked},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = netguard.Policy{}.CheckURL(u)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("CheckURL = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the query: %v", err)
			}
			if err := (netguard.Policy{AllowPrivate: true}).CheckURL(u); err != nil {
				t.Errorf("AllowPrivate: CheckURL = %v", err)
			}
		})
	}
}

// TestPlainHTTPRefused: the production client refuses an http:// request
// before dialling, and a redirect from https to http; with AllowPrivate
// both go through.
func TestPlainHTTPRefused(t *testing.T) {
	var plainHits int
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits++
		io.WriteString(w, "plain")
	}))
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, withHost(t, plain, testHost)+"/down", http.StatusFound)
	}))
	t.Cleanup(secure.Close)

	// The guarded client, except that it may dial loopback: the dialer is
	// replaced, the transport's refusal is what is under test.
	client := func(p netguard.Policy) *http.Client {
		c := p.HTTPClient()
		tr := netguard.BaseTransport(c)
		tr.DialContext = mapTestHost((&net.Dialer{}).DialContext)
		tr.TLSClientConfig = &tls.Config{
			RootCAs:    secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
			ServerName: "example.com",
		}
		return c
	}
	guarded := client(netguard.Policy{})
	if _, err := get(t, guarded, withHost(t, plain, testHost)); !errors.Is(err, netguard.ErrPlainHTTP) {
		t.Errorf("GET http://: %v, want ErrPlainHTTP", err)
	}
	if _, err := get(t, guarded, withHost(t, secure, testHost)); !errors.Is(err, netguard.ErrPlainHTTP) {
		t.Errorf("GET https:// redirected to http://: %v, want ErrPlainHTTP", err)
	}
	if plainHits != 0 {
		t.Fatalf("refused requests reached the plain server %d times", plainHits)
	}
	if body, err := get(t, client(netguard.Policy{AllowPrivate: true}), withHost(t, secure, testHost)); err != nil || body != "plain" {
		t.Errorf("AllowPrivate: %q, %v", body, err)
	}
}

func TestWithBodyLimit(t *testing.T) {
	c := netguard.Policy{AllowPrivate: true}.HTTPClient()
	srv := answer(t, http.StatusOK, -1)
	read := func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	tests := []struct {
		limit int64
		want  int
	}{
		{100 << 10, 100 << 10},
		{netguard.MaxBodyBytes + 1, netguard.MaxBodyBytes}, // never raised
		{0, netguard.MaxBodyBytes},
	}
	for _, tc := range tests {
		n, err := read(netguard.WithBodyLimit(t.Context(), tc.limit))
		var tl *netguard.TooLargeError
		if n != tc.want || !errors.As(err, &tl) || tl.Limit != int64(tc.want) {
			t.Errorf("WithBodyLimit(%d): read %d, %v; want %d and a *TooLargeError at that limit", tc.limit, n, err, tc.want)
		}
	}
	// Error bodies keep their own limit.
	n, err := readAll(t, c, answer(t, http.StatusForbidden, -1).URL)
	if n != netguard.MaxErrorBodyBytes || !errors.Is(err, netguard.ErrResponseTooLarge) {
		t.Errorf("error body: read %d, %v", n, err)
	}
}

func TestListingBodyBytes(t *testing.T) {
	for keys, want := range map[int]int64{
		0: netguard.MinListingBodyBytes, 11: netguard.MinListingBodyBytes,
		200: 448 << 10, 999: netguard.MaxBodyBytes - netguard.ListingKeyBytes, 1000: netguard.MaxBodyBytes, 5000: netguard.MaxBodyBytes,
	} {
		if got := netguard.ListingBodyBytes(keys); got != want {
			t.Errorf("ListingBodyBytes(%d) = %d, want %d", keys, got, want)
		}
	}
}
