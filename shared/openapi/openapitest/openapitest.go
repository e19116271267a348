// Package openapitest checks answers against the OpenAPI document of
// shared/openapi, for the
// end-to-end tests: Handler wraps the handler a test server serves, and
// Transport the client of a test that talks to a process (`bucketlink
// serve`), so that every answer of those suites passes through one
// check, and an answer the document does not describe fails the test.
//
// What is checked, per answer: that the document has the operation, or,
// for a path or method it does not list, that the answer is the
// service's 404 or 405 in one of the documented error shapes; that the
// status is one the operation lists; the headers it lists (required ones
// present, values of their type); the Content-Type; and the body against
// the schema. A path is looked up as sent and, when that finds nothing,
// with its trailing slash added or removed, as the service answers both.
// kin-openapi (which reads OpenAPI 3.1) loads and validates the document
// and routes; the schemas are checked with the JSON Schema 2020-12
// validator that kin-openapi's openapi3filter uses for 3.1 documents,
// each compiled once (checkHeaders says why). It is test scaffolding: no
// function links it.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bucketlink/bucketlink/shared/openapi"
)

// Validator checks answers against the document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Load parses and validates the document (once per process).
func Load() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = load() })
	return loaded, loadErr
}

func load() (*Validator, error) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	// Route on paths alone: the document's server is relative ("/"), and
	// a test server's host is whatever it listens on.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapi.Document()))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, raw); err != nil {
		return nil, err
	}
	return &Validator{doc: doc, router: router, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

// Must is Load for tests: it fails t when the document does not load.
func Must(t testing.TB) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Check validates one answer to req (whose URL may be path-only; its
// body is not read). header and body are the answer's.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.findRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return v.checkUnrouted(req, http.StatusNotFound, status, header, body)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return v.checkUnrouted(req, http.StatusMethodNotAllowed, status, header, body)
	case err != nil:
		return fmt.Errorf("find the route of %s %s: %w", req.Method, req.URL.Path, err)
	}
	_ = params
	err = v.checkHeaders(route, status, header)
	if err == nil {
		err = v.checkBody(req, route, status, header, body)
	}
	if err != nil {
		return fmt.Errorf("%s %s answered %d, which the OpenAPI document does not describe: %w\nbody: %s",
			req.Method, req.URL.Path, status, err, truncate(body))
	}
	return nil
}

// checkHeaders checks that the operation lists the status, and the
// headers the document gives that answer: required ones present, and
// every one present of its schema (integers parsed as openapi3filter
// does). openapi3filter.ValidateResponse would do the same, but it
// compiles a 3.1 schema anew for every value it checks (about 0.1 ms a
// header, 8 ms a body, on every answer of the e2e suites); here each
// schema is compiled once, with the JSON Schema 2020-12 validator
// openapi3filter uses (santhosh-tekuri/jsonschema).
func (v *Validator) checkHeaders(route *routers.Route, status int, header http.Header) error {
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not one the operation lists", status)
	}
	names := slices.Sorted(maps.Keys(ref.Value.Headers))
	for _, name := range names {
		h := ref.Value.Headers[name]
		if h == nil || h.Value == nil {
			continue
		}
		vals, present := header[http.CanonicalHeaderKey(name)]
		if !present {
			if h.Value.Required {
				return fmt.Errorf("header %s is required and missing", name)
			}
			continue
		}
		if h.Value.Schema == nil || h.Value.Schema.Value == nil || len(vals) == 0 {
			continue
		}
		var value any = vals[0]
		if h.Value.Schema.Value.Type.Is("integer") {
			n, err := strconv.ParseInt(vals[0], 10, 64)
			if err != nil {
				return fmt.Errorf("header %s: %q is not an integer", name, vals[0])
			}
			value = json.Number(strconv.FormatInt(n, 10))
		}
		if h.Ref == "" {
			if err := h.Value.Schema.Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
				return fmt.Errorf("header %s: %w", name, err)
			}
			continue
		}
		sch, err := v.compiled(h.Ref + "/schema")
		if err != nil {
			return err
		}
		if err := sch.Validate(value); err != nil {
			return fmt.Errorf("header %s: %w", name, err)
		}
	}
	return nil
}

// checkBody checks the Content-Type and the body of an answer whose
// status the operation lists, against its schema compiled once (see
// checkHeaders), formats asserted.
func (v *Validator) checkBody(req *http.Request, route *routers.Route, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodHead {
		return nil
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("a body where the document describes none")
		}
		return nil
	}
	ct := header.Get("Content-Type")
	media := ref.Value.Content.Get(ct)
	if media == nil {
		return fmt.Errorf("Content-Type %q is not one the document lists", ct)
	}
	if media.Schema == nil || !strings.Contains(ct, "json") {
		return nil // the connect page's files: their type is what is checked
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if media.Schema.Ref == "" || !strings.HasPrefix(media.Schema.Ref, "#/") {
		var plain any
		if err := jsonDecode(body, &plain); err != nil {
			return err
		}
		return media.Schema.Value.VisitJSON(plain, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse())
	}
	sch, err := v.compiled(media.Schema.Ref)
	if err != nil {
		return err
	}
	if err := sch.Validate(value); err != nil {
		return fmt.Errorf("the body does not match %s: %w", media.Schema.Ref, err)
	}
	return nil
}

// docURL is the document's address for the schema compiler.
const docURL = "mem:///openapi.json"

// compiled returns the schema at ref (a "#/..." pointer into the
// document), compiling it on first use.
func (v *Validator) compiled(ref string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.schemas[ref]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(docURL + ref)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", ref, err)
	}
	v.schemas[ref] = s
	return s, nil
}

// findRoute looks the request up as sent, then with its trailing slash
// toggled.
func (v *Validator) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	r := req.Clone(req.Context())
	if r.URL.Host == "" {
		r.URL.Scheme, r.URL.Host = "http", "localhost"
	}
	route, params, err := v.router.FindRoute(r)
	if !errors.Is(err, routers.ErrPathNotFound) {
		return route, params, err
	}
	p := r.URL.Path
	if strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimSuffix(p, "/")
	} else {
		r.URL.Path = p + "/"
	}
	r.URL.RawPath = ""
	if alt, altParams, altErr := v.router.FindRoute(r); altErr == nil || errors.Is(altErr, routers.ErrMethodNotAllowed) {
		return alt, altParams, altErr
	}
	return nil, nil, err
}

// checkUnrouted checks the answer to a path or method the document does
// not list: the service's 404 or 405, with X-Request-Id, and in the
// shape of the API the path belongs to ({"success": false, "error"}
// under /v1/api/, else {"detail"}); outside the APIs, in any shape.
func (v *Validator) checkUnrouted(req *http.Request, want, status int, header http.Header, body []byte) error {
	if status != want {
		return fmt.Errorf("%s %s is not in the OpenAPI document, and answered %d rather than %d\nbody: %s",
			req.Method, req.URL.Path, status, want, truncate(body))
	}
	if header.Get("X-Request-Id") == "" {
		return fmt.Errorf("%s %s answered %d without X-Request-Id", req.Method, req.URL.Path, status)
	}
	if req.Method == http.MethodHead || !apiPath(req.URL.Path) {
		// Outside the two APIs (the connect page's files), a 404 or 405
		// is net/http's plain text.
		return nil
	}
	shape := "Detail"
	if want == http.StatusMethodNotAllowed && strings.HasPrefix(req.URL.Path, "/v1/api/organizations/") {
		shape = "VerifyFailure"
	}
	var value any
	if err := jsonDecode(body, &value); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not JSON: %w", req.Method, req.URL.Path, status, err)
	}
	if err := v.doc.Components.Schemas[shape].Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not a %s: %w\nbody: %s",
			req.Method, req.URL.Path, status, shape, err, truncate(body))
	}
	return nil
}

// apiPath reports whether p is under one of the JSON APIs.
func apiPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v1/api/") || p == "/api" || p == "/v1/api"
}

// Handler wraps h, a test server's handler, so that every answer it
// writes is checked: one that the document does not describe fails t.
func Handler(t testing.TB, h http.Handler) http.Handler {
	v := Must(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if err := v.Check(r, res.StatusCode, res.Header, body); err != nil {
			t.Errorf("openapitest: %v", err)
		}
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)
	})
}

// Transport wraps base (nil: http.DefaultTransport), a test client's
// transport, so that every answer it reads is checked: one that the
// document does not describe fails t. The body is read whole and handed
// on.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, v: Must(t), base: base}
}

type transport struct {
	t    testing.TB
	v    *Validator
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openapitest: read the answer: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := tr.v.Check(req, res.StatusCode, res.Header, body); err != nil {
		tr.t.Errorf("openapitest: %v", err)
	}
	return res, nil
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
