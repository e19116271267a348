package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// Gateway is test scaffolding: a hand-written stand-in for an API Gateway
// HTTP API (the $default stage, Lambda proxy integrations with payload
// format 2.0) in front of Functions, because no emulator of it runs here
// without Docker. It routes each request to the function that the
// template's route names, so a route missing from template.yaml fails the
// request (404) as it would once deployed, then turns the request into the
// function's event and the function's result into the response.
//
// Routing follows "Routing API requests" in
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html:
// a full match of route and method first, then a route with a greedy path
// variable ({proxy+}), then $default; the ANY method matches what a route
// does not define; nothing matching answers 404 {"message":"Not Found"}.
// Literal segments equal the request's (after percent-decoding), {name}
// matches one non-empty segment, {name+} the non-empty rest. Where routes
// tie, a literal segment beats a variable from the left and a route's own
// method beats ANY.
//
// Trailing slash: AWS's documentation does not say how a request path
// ending in "/" meets a route without one (route keys cannot end in "/":
// CreateRoute refuses them, and SAM drops such a route silently,
// aws/serverless-application-model#1949). Reports of real deployments say
// that it matches: "both API Gateway REST and HTTPV2 route both /hello and
// /hello/ to the Lambda" (aws-powertools/powertools-lambda-python#1552),
// and AWS's own local emulator was changed to "match ... AWS APIG" by
// ignoring the slash (aws/aws-sam-cli#1495); rawPath keeps it. So by
// default a request also matches with one trailing slash dropped (the
// path as sent wins a tie); GatewayOptions.StrictTrailingSlash makes the
// slash significant, to see what clients would do if AWS were strict.
// That this is AWS's behaviour could not be checked against AWS here.
//
// Integration failures answer as an HTTP API does: a function error (or
// a response that is not a valid payload 2.0 result) 500 {"message":
// "Internal Server Error"}, no result within the integration timeout 503
// {"message":"Service Unavailable"}. A route to a function that the test
// did not start, or whose process has exited, answers 503 and fails the
// test. Requests to one Function are served one at a time, like one
// execution environment; Lambda would start more.
type Gateway struct {
	routes    []*compiledRoute
	functions map[string]*Function
	opts      GatewayOptions

	mu    sync.Mutex
	calls []GatewayCall
}

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	// TB fails the test on a route to a function not started (or exited)
	// and on malformed function responses, and logs function errors.
	TB testing.TB
	// APIID and AccountID fill the requestContext; defaults "lambdatest"
	// and "000000000000".
	APIID, AccountID string
	// IntegrationTimeout is how long the gateway waits for a function;
	// default 30 s, the HTTP API's maximum.
	IntegrationTimeout time.Duration
	// StrictTrailingSlash makes "/x/" not match the route "/x".
	StrictTrailingSlash bool
}

// GatewayCall records one request the Gateway answered.
type GatewayCall struct {
	Method, RawPath string
	// RouteKey is the matched route key, empty when none matched.
	RouteKey string
	// LogicalID is the function the route integrates.
	LogicalID string
	Status    int
}

// MaxGatewayRequestBytes is the HTTP API's largest request payload.
const MaxGatewayRequestBytes = 10 << 20

// NewGateway serves routes (as ParseRoutes returns them) with functions,
// by logical id. Routes with the same route key, or of several APIs, are
// an error, as they would be in one HTTP API.
func NewGateway(routes []Route, functions map[string]*Function, opts GatewayOptions) (*Gateway, error) {
	if opts.APIID == "" {
		opts.APIID = "lambdatest"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.IntegrationTimeout <= 0 {
		opts.IntegrationTimeout = 30 * time.Second
	}
	g := &Gateway{functions: functions, opts: opts}
	keys := map[string]string{}
	for _, r := range routes {
		if prev, ok := keys[r.Key()]; ok {
			return nil, fmt.Errorf("lambdatest: gateway: route %q of both %s and %s", r.Key(), prev, r.LogicalID)
		}
		keys[r.Key()] = r.LogicalID
		if len(g.routes) > 0 && g.routes[0].API != r.API {
			return nil, fmt.Errorf("lambdatest: gateway: routes of the APIs %q and %q: give one API's", g.routes[0].API, r.API)
		}
		c := &compiledRoute{Route: r}
		if r.Path != DefaultRoute {
			segs, err := compilePath(r.Path)
			if err != nil {
				return nil, fmt.Errorf("lambdatest: gateway: %s: %w", r.LogicalID, err)
			}
			c.segs = segs
			c.greedy = len(segs) > 0 && segs[len(segs)-1].greedy
		}
		g.routes = append(g.routes, c)
	}
	return g, nil
}

// Match returns the route a request would take and its path parameters
// (decoded), or false for a 404.
func (g *Gateway) Match(method, rawPath string) (Route, map[string]string, bool) {
	r, params, ok := match(g.routes, g.opts.StrictTrailingSlash, method, rawPath)
	if !ok {
		return Route{}, nil, false
	}
	return r.Route, params, true
}

// Calls returns the requests answered so far.
func (g *Gateway) Calls() []GatewayCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

func (g *Gateway) record(c GatewayCall) {
	g.mu.Lock()
	g.calls = append(g.calls, c)
	g.mu.Unlock()
}

// ServeHTTP routes, invokes and answers one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw := rawPathOf(req)
	call := GatewayCall{Method: req.Method, RawPath: raw}
	defer func() { g.record(call) }()
	route, params, ok := match(g.routes, g.opts.StrictTrailingSlash, req.Method, raw)
	if !ok {
		call.Status = gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	call.RouteKey, call.LogicalID = route.Key(), route.LogicalID
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxGatewayRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			call.Status = gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		} else {
			call.Status = gatewayError(w, http.StatusBadRequest, "Bad Request")
		}
		return
	}
	f := g.functions[route.LogicalID]
	if f == nil {
		g.fail("%s %s took route %q of %s, a function the test did not start", req.Method, raw, route.Key(), route.LogicalID)
		call.Status = gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	select {
	case <-f.Exited():
		g.fail("%s %s took route %q of %s, whose process has exited (%v); output:\n%s",
			req.Method, raw, route.Key(), route.LogicalID, f.ExitError(), f.Output())
		call.Status = gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	default:
	}
	requestID := newGatewayRequestID()
	payload, err := marshalEvent(g.event(req, raw, body, route, params, requestID))
	if err != nil {
		g.fail("%s %s: the event: %v", req.Method, raw, err)
		call.Status = gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// The client going away does not cancel the invocation: an unfinished
	// invocation would leave the function posting a result for an unknown
	// request id, and aws-lambda-go exits on that.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), g.opts.IntegrationTimeout)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		g.logf("%s %s: %s gave no result within %s", req.Method, raw, route.LogicalID, g.opts.IntegrationTimeout)
		call.Status = gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		g.fail("%s %s: invoking %s: %v", req.Method, raw, route.LogicalID, err)
		call.Status = gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case res.Err != nil:
		g.logf("%s %s: %s failed: %v", req.Method, raw, route.LogicalID, res.Err)
		call.Status = gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	resp, err := decodeResult(res.Payload)
	if err != nil {
		g.fail("%s %s: %s answered a malformed result: %v\n%s", req.Method, raw, route.LogicalID, err, res.Payload)
		call.Status = gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Apigw-Requestid", requestID)
	call.Status = resp.write(w)
}

// gatewayError answers as API Gateway does when it, not the function,
// answers: {"message": ...}.
func gatewayError(w http.ResponseWriter, status int, message string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
	return status
}

func (g *Gateway) fail(format string, args ...any) {
	if g.opts.TB != nil {
		g.opts.TB.Errorf("lambdatest gateway: "+format, args...)
	}
}

func (g *Gateway) logf(format string, args ...any) {
	if g.opts.TB != nil {
		g.opts.TB.Logf("lambdatest gateway: "+format, args...)
	}
}
