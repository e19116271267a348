package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
)

// serveClient is the client of the tests that talk to `bucketlink serve`:
// every answer it reads is checked against the OpenAPI document
// (openapitest.Transport), and one the document does not describe fails
// t.
func serveClient(t testing.TB) *http.Client {
	return &http.Client{Transport: openapitest.Transport(t, nil)}
}

// startValidatedServe starts `bucketlink serve` on data behind a reverse
// proxy that checks every answer against the OpenAPI document
// (openapitest.Handler), for clients the test does not build (the
// official Python clients), and returns the proxy's URL, which serve
// writes its links on (--public-url), so that following them stays
// behind the proxy too.
func startValidatedServe(t *testing.T, data string) string {
	t.Helper()
	proxy := httptest.NewUnstartedServer(nil)
	public := "http://" + proxy.Listener.Addr().String()
	t.Setenv("BUCKETLINK_PUBLIC_URL", public)
	base, _ := startServe(t, data)
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Config.Handler = openapitest.Handler(t, httputil.NewSingleHostReverseProxy(target))
	proxy.Start()
	t.Cleanup(proxy.Close)
	return public
}
