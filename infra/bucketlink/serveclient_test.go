package main

import (
	"net/http"
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
