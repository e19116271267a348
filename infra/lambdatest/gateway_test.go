package lambdatest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
)

// TestGatewayParsesTheTemplate reads template.yaml's routes: one per HTTP
// function, with the function's logical id and the Api's.
func TestGatewayParsesTheTemplate(t *testing.T) {
	routes, err := lambdatest.ParseRoutes(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range routes {
		if r.API != "Api" || r.Event == "" {
			t.Errorf("route %+v: want the Api and an event name", r)
		}
		got[r.LogicalID] = r.Key()
	}
	if got["GetStorageConfigFunction"] != "GET /api/v1/storage-configs/{uid}" ||
		got["VerifyBucketFunction"] != "POST /v1/api/organizations/{organizationId}/buckets/verify" {
		t.Errorf("routes %v", got)
	}
	for _, id := range []string{"VerifyWorkerFunction", "ReverifySchedulerFunction", "ApiAccessLogs"} {
		if _, ok := got[id]; ok {
			t.Errorf("%s has no HttpApi event, but a route", id)
		}
	}
}

// TestGatewayParsesIntrinsics checks that short-form intrinsics anywhere
// in a template do not break parsing, and the template mistakes that
// would lose a route.
func TestGatewayParsesIntrinsics(t *testing.T) {
	const tmpl = `
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          A: !If [IsProd, !Ref X, !Sub "${AWS::AccountId}-x"]
          B: !Join ["", [a, !Select [0, !GetAZs ""]]]
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: get, Path: "/pets/{id}"}
        Any:
          Type: HttpApi
          Properties: {ApiId: {Ref: Api}, Method: x-amazon-apigateway-any-method, Path: "/{proxy+}"}
        Catch:
          Type: HttpApi
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {Tags: [{Key: a, Value: !Ref Stage}]}
`
	path := filepath.Join(t.TempDir(), "template.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(tmpl)
	routes, err := lambdatest.ParseRoutes(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []lambdatest.Route{
		{Method: "GET", Path: "/pets/{id}", LogicalID: "Fn", Event: "Get", API: "Api"},
		{Method: "ANY", Path: "/{proxy+}", LogicalID: "Fn", Event: "Any", API: "Api"},
		{Path: "$default", LogicalID: "Fn", Event: "Catch"},
	}
	if !slices.Equal(routes, want) {
		t.Errorf("routes\n%+v\nwant\n%+v", routes, want)
	}
	for _, bad := range []struct{ props, err string }{
		{`Method: get, Path: "/pets/"`, "ends in /"},
		{`Method: get, Path: !Sub "/${X}"`, "not a plain string"},
		{`Method: !Ref M, Path: /a`, "not a plain string"},
		{`Method: get, Path: "/a/{p+}/b"`, "must be the last"},
		{`Method: get, Path: "/a/x{p}"`, "whole segment"},
		{`Method: get, Path: "pets"`, "does not start with /"},
		{`Method: get, Path: "/a/{p}/{p}"`, "repeated"},
		{`Method: get, Path: "/a//b"`, "empty segment"},
		{`Method: get`, "both Method and Path"},
	} {
		write(strings.Replace(tmpl, `Method: get, Path: "/pets/{id}"`, bad.props, 1))
		if _, err := lambdatest.ParseRoutes(path); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: error %v, want one saying %q", bad.props, err, bad.err)
		}
	}
}

// TestGatewayRouting checks route selection on the routes of AWS's
// "Routing API requests" example, and the rest of the rules.
func TestGatewayRouting(t *testing.T) {
	routes := []lambdatest.Route{
		{Method: "GET", Path: "/pets/dog/1", LogicalID: "Dog1"},
		{Method: "GET", Path: "/pets/dog/{id}", LogicalID: "DogID"},
		{Method: "GET", Path: "/pets/{proxy+}", LogicalID: "PetsProxy"},
		{Method: "ANY", Path: "/{proxy+}", LogicalID: "AnyProxy"},
		{Method: "GET", Path: "/api/v1/storage-configs/{uid}", LogicalID: "Get"},
		{Method: "DELETE", Path: "/api/v1/storage-configs/{uid}", LogicalID: "Delete"},
		{Method: "GET", Path: "/api/v1/storage-configs/setup-info", LogicalID: "Setup"},
		{Method: "ANY", Path: "/api/v1/storage-configs/setup-info", LogicalID: "SetupAny"},
		{Method: "GET", Path: "/", LogicalID: "Root"},
	}
	g, err := lambdatest.NewGateway(routes, nil, lambdatest.GatewayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := lambdatest.NewGateway(routes, nil, lambdatest.GatewayOptions{StrictTrailingSlash: true})
	if err != nil {
		t.Fatal(err)
	}
	withDefault, err := lambdatest.NewGateway(append(slices.Clone(routes[:3]), lambdatest.Route{Path: "$default", LogicalID: "Default"}),
		nil, lambdatest.GatewayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		g            *lambdatest.Gateway
		method, path string
		want         string // logical id, "" for 404
		params       map[string]string
	}{
		// AWS's table.
		{g, "GET", "/pets/dog/1", "Dog1", nil},
		{g, "GET", "/pets/dog/2", "DogID", map[string]string{"id": "2"}},
		{g, "GET", "/pets/cat/1", "PetsProxy", map[string]string{"proxy": "cat/1"}},
		{g, "POST", "/test/5", "AnyProxy", map[string]string{"proxy": "test/5"}},
		// A literal beats a variable; the route's method beats ANY; a
		// method the path does not define falls through.
		{g, "GET", "/api/v1/storage-configs/setup-info", "Setup", nil},
		{g, "POST", "/api/v1/storage-configs/setup-info", "SetupAny", nil},
		{g, "DELETE", "/api/v1/storage-configs/abc", "Delete", map[string]string{"uid": "abc"}},
		{g, "PATCH", "/api/v1/storage-configs/abc", "AnyProxy", map[string]string{"proxy": "api/v1/storage-configs/abc"}},
		{strict, "PATCH", "/api/v1/storage-configs/abc", "AnyProxy", map[string]string{"proxy": "api/v1/storage-configs/abc"}},
		// Trailing slash: matched without it unless strict; rawPath is
		// the caller's business.
		{g, "GET", "/api/v1/storage-configs/abc/", "Get", map[string]string{"uid": "abc"}},
		{g, "GET", "/api/v1/storage-configs/setup-info/", "Setup", nil},
		{strict, "GET", "/api/v1/storage-configs/setup-info/", "AnyProxy", map[string]string{"proxy": "api/v1/storage-configs/setup-info/"}},
		{g, "GET", "/pets/dog/1/", "Dog1", nil},
		{g, "GET", "/pets/cat/", "PetsProxy", map[string]string{"proxy": "cat/"}},
		// Variables never match an empty segment; a greedy one needs a
		// non-empty rest.
		{g, "GET", "/api/v1/storage-configs//", "AnyProxy", map[string]string{"proxy": "api/v1/storage-configs//"}},
		{withDefault, "GET", "/pets/", "Default", nil},
		{withDefault, "GET", "/pets", "Default", nil},
		{withDefault, "PUT", "/pets/dog/1", "Default", nil},
		// Percent-decoding of segments and parameters.
		{g, "GET", "/api/v1/storage-configs/a%20b", "Get", map[string]string{"uid": "a b"}},
		{g, "GET", "/api/v1/storage-configs/setup%2Dinfo", "Setup", nil},
		{g, "GET", "/", "Root", nil},
		{strict, "POST", "/", "", nil},
		{withDefault, "GET", "/%zz", "", nil},
	}
	for _, tt := range tests {
		r, params, ok := tt.g.Match(tt.method, tt.path)
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s %s: route %q of %s, want 404", tt.method, tt.path, r.Key(), r.LogicalID)
		case tt.want != "" && (!ok || r.LogicalID != tt.want):
			t.Errorf("%s %s: %s (%v), want %s", tt.method, tt.path, r.LogicalID, ok, tt.want)
		case !maps.Equal(params, tt.params):
			t.Errorf("%s %s: parameters %v, want %v", tt.method, tt.path, params, tt.params)
		}
	}
	if _, err := lambdatest.NewGateway(append(slices.Clone(routes), lambdatest.Route{Method: "GET", Path: "/", LogicalID: "Other"}),
		nil, lambdatest.GatewayOptions{}); err == nil {
		t.Error("a duplicate route key: no error")
	}
}

var httpEchoBuild struct {
	once sync.Once
	path string
	err  error
}

// httpEchoBootstrap builds testdata/httpecho once.
func httpEchoBootstrap(t *testing.T) string {
	t.Helper()
	httpEchoBuild.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		root := repoRoot(t)
		out := filepath.Join(root, ".tools", "lambdatest", lambdatest.HostTarget().String(), "testdata-httpecho")
		httpEchoBuild.path, httpEchoBuild.err = lambdatest.Build(ctx, root, "./infra/lambdatest/testdata/httpecho", lambdatest.HostTarget(), out)
	})
	if httpEchoBuild.err != nil {
		t.Fatal(httpEchoBuild.err)
	}
	return httpEchoBuild.path
}

// recordingTB keeps the Gateway's failures instead of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recordingTB) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}

// TestGatewayInvokesFunctions runs requests through the Gateway to a real
// bootstrap (testdata/httpecho, which answers with the event it got) and
// checks the payload 2.0 event and the responses.
func TestGatewayInvokesFunctions(t *testing.T) {
	f := lambdatest.Start(t, httpEchoBootstrap(t), lambdatest.Options{Name: "httpecho", Timeout: 10 * time.Second})
	if _, err := f.WaitInit(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	routes := []lambdatest.Route{
		{Method: "GET", Path: "/items/{id}", LogicalID: "EchoFunction"},
		{Method: "POST", Path: "/items", LogicalID: "EchoFunction"},
		{Method: "GET", Path: "/files/{path+}", LogicalID: "EchoFunction"},
		{Method: "GET", Path: "/unstarted", LogicalID: "UnstartedFunction"},
	}
	rec := &recordingTB{TB: t}
	g, err := lambdatest.NewGateway(routes, map[string]*lambdatest.Function{"EchoFunction": f},
		lambdatest.GatewayOptions{TB: rec, APIID: "a1b2c3d4e5", AccountID: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	do := func(method, path, contentType string, body []byte, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	echoed := func(method, path, contentType string, body []byte, header http.Header) (map[string]any, events.APIGatewayV2HTTPRequest) {
		t.Helper()
		resp, b := do(method, path, contentType, body, header)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Apigw-Requestid") == "" {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		var raw map[string]any
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		return raw, e
	}

	// A GET like infra/events/get-storage-config.json: the same fields.
	h := http.Header{"X-Avala-Api-Key": {"k"}, "Accept": {"application/json"}, "X-Multi": {"a", "b"}, "Cookie": {"c1=v1; c2=v2"}}
	raw, e := echoed("GET", "/items/a%20b/?x=1&x=2&y=%C3%A9", "", nil, h)
	fixture := readFixture(t, "get-storage-config.json")
	for _, k := range []string{"", "requestContext", "requestContext.http"} {
		if got, want := sortedKeys(raw, k), sortedKeys(fixture, k); !slices.Equal(got, want) {
			// cookies and queryStringParameters: this request has them.
			if extra := slices.DeleteFunc(slices.Clone(got), func(s string) bool { return slices.Contains(want, s) }); k != "" ||
				!slices.Equal(extra, []string{"cookies", "queryStringParameters"}) || len(got)-len(extra) != len(want) {
				t.Errorf("event keys at %q: %v, the fixture's %v", k, got, want)
			}
		}
	}
	for _, hdr := range sortedKeys(fixture, "headers") {
		if _, ok := e.Headers[hdr]; !ok && hdr != "x-avala-api-key" {
			t.Errorf("no %s header (the fixture has one)", hdr)
		}
	}
	wantCtx := events.APIGatewayV2HTTPRequestContext{RouteKey: "GET /items/{id}", AccountID: "123456789012", Stage: "$default", APIID: "a1b2c3d4e5"}
	if e.Version != "2.0" || e.RouteKey != "GET /items/{id}" || e.RawPath != "/items/a%20b/" || e.RawQueryString != "x=1&x=2&y=%C3%A9" ||
		e.RequestContext.RouteKey != wantCtx.RouteKey || e.RequestContext.AccountID != wantCtx.AccountID ||
		e.RequestContext.Stage != wantCtx.Stage || e.RequestContext.APIID != wantCtx.APIID || e.RequestContext.RequestID == "" ||
		e.RequestContext.TimeEpoch == 0 || e.RequestContext.Time == "" ||
		e.RequestContext.HTTP.Method != "GET" || e.RequestContext.HTTP.Path != "/items/a%20b/" || e.RequestContext.HTTP.Protocol != "HTTP/1.1" ||
		e.RequestContext.HTTP.SourceIP != "127.0.0.1" || !strings.HasPrefix(e.RequestContext.HTTP.UserAgent, "Go-http-client") ||
		e.RequestContext.DomainName != strings.TrimPrefix(srv.URL, "http://") || e.RequestContext.DomainPrefix != "127" {
		t.Errorf("event %+v", e)
	}
	if !maps.Equal(e.PathParameters, map[string]string{"id": "a b"}) ||
		!maps.Equal(e.QueryStringParameters, map[string]string{"x": "1,2", "y": "é"}) ||
		!slices.Equal(e.Cookies, []string{"c1=v1", "c2=v2"}) {
		t.Errorf("parameters %v, query %v, cookies %v", e.PathParameters, e.QueryStringParameters, e.Cookies)
	}
	if e.Headers["x-multi"] != "a,b" || e.Headers["x-avala-api-key"] != "k" || e.Headers["host"] != e.RequestContext.DomainName ||
		e.Headers["cookie"] != "" || e.Headers["x-forwarded-for"] != "127.0.0.1" || e.Headers["x-forwarded-proto"] != "http" ||
		e.Headers["content-length"] != "0" || e.Body != "" || e.IsBase64Encoded {
		t.Errorf("headers %v, body %q (%v)", e.Headers, e.Body, e.IsBase64Encoded)
	}

	// Bodies: JSON and text as is, anything else base64.
	for _, b := range []struct {
		contentType string
		body        []byte
		base64      bool
	}{
		{"application/json; charset=utf-8", []byte(`{"a":"é"}`), false},
		{"text/plain", []byte("hello"), false},
		{"application/problem+json", []byte(`{}`), false},
		{"application/octet-stream", []byte{0, 1, 2, 255}, true},
		{"application/x-www-form-urlencoded", []byte("a=1&b=2"), true},
		{"", []byte("no type"), true},
		{"text/plain", []byte{0xff, 0xfe}, true}, // not UTF-8
	} {
		_, e := echoed("POST", "/items", b.contentType, b.body, nil)
		got := []byte(e.Body)
		if e.IsBase64Encoded {
			got, _ = base64.StdEncoding.DecodeString(e.Body)
		}
		if e.IsBase64Encoded != b.base64 || string(got) != string(b.body) || e.PathParameters != nil || e.RouteKey != "POST /items" {
			t.Errorf("%q body %q: event body %q base64 %v, parameters %v", b.contentType, b.body, e.Body, e.IsBase64Encoded, e.PathParameters)
		}
	}
	if _, e := echoed("GET", "/files/a/b%2Fc.txt", "", nil, nil); e.PathParameters["path"] != "a/b/c.txt" || e.RawPath != "/files/a/b%2Fc.txt" {
		t.Errorf("greedy: parameters %v, raw path %q", e.PathParameters, e.RawPath)
	}

	// Responses: base64 bodies decoded, cookies as Set-Cookie,
	// multiValueHeaders; a bare JSON value is a 200 application/json.
	resp, b := do("GET", "/items/1?mode=binary", "", nil, nil)
	if resp.StatusCode != http.StatusCreated || string(b) != "\x00\x01\x02\xff" || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!slices.Equal(resp.Header.Values("Set-Cookie"), []string{"a=1; Path=/", "b=2"}) || !slices.Equal(resp.Header.Values("X-Multi"), []string{"one", "two"}) {
		t.Errorf("binary: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	resp, b = do("GET", "/items/1?mode=raw", "", nil, nil)
	if resp.StatusCode != http.StatusOK || string(b) != "plain text from httpecho" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("raw: %d %q %v", resp.StatusCode, b, resp.Header)
	}

	// API Gateway's own answers.
	for _, c := range []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/items/1?mode=fail", http.StatusInternalServerError, "Internal Server Error"},
		{"GET", "/nowhere", http.StatusNotFound, "Not Found"},
		{"DELETE", "/items/1", http.StatusNotFound, "Not Found"},
		{"GET", "/items", http.StatusNotFound, "Not Found"},
		{"GET", "/unstarted", http.StatusServiceUnavailable, "Service Unavailable"},
	} {
		resp, b := do(c.method, c.path, "", nil, nil)
		var m map[string]string
		if resp.StatusCode != c.status || json.Unmarshal(b, &m) != nil || m["message"] != c.message {
			t.Errorf("%s %s: %d %s, want %d %q", c.method, c.path, resp.StatusCode, b, c.status, c.message)
		}
	}
	if fails := rec.failures(); len(fails) != 1 || !strings.Contains(fails[0], "UnstartedFunction, a function the test did not start") {
		t.Errorf("gateway failures %q, want one for the unstarted function", fails)
	}
	var routed int
	for _, c := range g.Calls() {
		if c.LogicalID == "EchoFunction" {
			routed++
		}
	}
	if routed != 12 {
		t.Errorf("%d calls reached the function, want 12: %+v", routed, g.Calls())
	}
}

func readFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "infra", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sortedKeys returns the keys of the object at a dotted path in m.
func sortedKeys(m map[string]any, path string) []string {
	cur := m
	if path != "" {
		for p := range strings.SplitSeq(path, ".") {
			next, _ := cur[p].(map[string]any)
			cur = next
		}
	}
	return slices.Sorted(maps.Keys(cur))
}
