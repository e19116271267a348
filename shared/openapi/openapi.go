// Package openapi holds the OpenAPI 3.1 document of bucketlink's two APIs
// (the storage-configs API and the bucket-verify API, with what goes
// beyond their documents marked x-bucketlink-additive), embedded in the
// binary, and the handler that serves it at GET /openapi.json: from
// `bucketlink serve` (through shared/httpapi) and from its own Lambda
// (functions/get-openapi).
//
// It imports nothing but the standard library, so that the Lambda that
// serves the document links no store, key service or driver. The tests of
// shared/httpapi and infra/bucketlink validate every answer of their
// end-to-end suites against it (openapitest), and schemathesis fuzzes
// `bucketlink serve` from it (infra/bucketlink).
package openapi

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// Path is where the document is served.
const Path = "/openapi.json"

//go:embed openapi.json
var document []byte

// Document returns a copy of the document (JSON).
func Document() []byte { return bytes.Clone(document) }

// modTime is the Last-Modified of the document: the process start, as
// the document is part of the binary.
var modTime = time.Now()

// Handler serves the document to GET and HEAD (with ETag and
// Last-Modified, so conditional requests answer 304) and answers other
// methods 405 in the storage-configs API's {"detail": ...} shape. It sets
// X-Request-Id when the caller's middleware has not (the Lambda has
// none), as every answer of the service carries one.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if h.Get("X-Request-Id") == "" {
			h.Set("X-Request-Id", newRequestID())
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_ = json.NewEncoder(w).Encode(map[string]string{"detail": "Method \"" + r.Method + "\" not allowed."})
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "openapi.json", modTime, bytes.NewReader(document))
	})
}

// etag names this build's document.
var etag = func() string {
	sum := sha256.Sum256(document)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}
