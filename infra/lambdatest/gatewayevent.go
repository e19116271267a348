package lambdatest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// The payload format 2.0 conversions of the Gateway, as documented in
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
// and as the events of infra/events show them.

// rawPathOf is the path as the client sent it (still escaped).
func rawPathOf(req *http.Request) string {
	if p, _, _ := strings.Cut(req.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return req.URL.EscapedPath()
}

// event is the payload 2.0 event of req for route: lower-case headers,
// repeated headers and query parameters joined with ",", cookies apart,
// the body as text or base64.
func (g *Gateway) event(req *http.Request, raw string, body []byte, route *compiledRoute, params map[string]string, requestID string) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	e := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       route.Key(),
		RawPath:        raw,
		RawQueryString: req.URL.RawQuery,
		Headers:        map[string]string{},
		PathParameters: params,
	}
	for name, values := range req.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						e.Cookies = append(e.Cookies, c)
					}
				}
			}
			continue
		}
		e.Headers[name] = strings.Join(values, ",")
	}
	// What API Gateway adds, and what Go's server takes out of the header.
	sourceIP, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		sourceIP = req.RemoteAddr
	}
	e.Headers["host"] = req.Host
	e.Headers["content-length"] = strconv.Itoa(len(body))
	if xff := e.Headers["x-forwarded-for"]; xff != "" {
		e.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		e.Headers["x-forwarded-for"] = sourceIP
	}
	e.Headers["x-forwarded-proto"] = "http"
	if req.TLS != nil {
		e.Headers["x-forwarded-proto"] = "https"
	}
	if _, port, err := net.SplitHostPort(localAddr(req)); err == nil {
		e.Headers["x-forwarded-port"] = port
	}
	if _, ok := e.Headers["x-amzn-trace-id"]; !ok {
		e.Headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))
	}
	if req.URL.RawQuery != "" {
		q, _ := url.ParseQuery(req.URL.RawQuery)
		e.QueryStringParameters = map[string]string{}
		for k, v := range q {
			e.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if len(body) > 0 {
		if isTextBody(req.Header.Get("Content-Type")) && utf8.Valid(body) {
			e.Body = string(body)
		} else {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")
	e.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey:     route.Key(),
		AccountID:    g.opts.AccountID,
		Stage:        "$default",
		RequestID:    requestID,
		APIID:        g.opts.APIID,
		DomainName:   req.Host,
		DomainPrefix: prefix,
		Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
		TimeEpoch:    now.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method:    req.Method,
			Path:      raw,
			Protocol:  req.Proto,
			SourceIP:  sourceIP,
			UserAgent: req.UserAgent(),
		},
	}
	return e
}

// marshalEvent encodes e without requestContext.authentication, which
// events' type always encodes and API Gateway sends only with mutual TLS.
func marshalEvent(e events.APIGatewayV2HTTPRequest) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(m["requestContext"], &rc); err != nil {
		return nil, err
	}
	delete(rc, "authentication")
	if m["requestContext"], err = json.Marshal(rc); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func localAddr(req *http.Request) string {
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return ""
}

// isTextBody reports whether a body of contentType reaches the function as
// text: text/*, JSON and XML (also +json, +xml) and JavaScript. Anything
// else, a form or no content type included, is base64-encoded.
func isTextBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}

// result is a function's response, decoded.
type result struct {
	events.APIGatewayV2HTTPResponse
	body []byte
}

// decodeResult reads a function's result. An object with a statusCode is
// a payload 2.0 response; any other JSON value is, as API Gateway infers,
// a 200 application/json response whose body is that value (a string's
// own text).
func decodeResult(payload []byte) (*result, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) == nil && probe["statusCode"] != nil {
		r := &result{}
		if err := json.Unmarshal(payload, &r.APIGatewayV2HTTPResponse); err != nil {
			return nil, err
		}
		if r.StatusCode < 100 || r.StatusCode > 599 {
			return nil, fmt.Errorf("status code %d", r.StatusCode)
		}
		r.body = []byte(r.Body)
		if r.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(r.Body)
			if err != nil {
				return nil, fmt.Errorf("isBase64Encoded, but the body is not base64: %w", err)
			}
			r.body = b
		}
		return r, nil
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("not JSON")
	}
	r := &result{APIGatewayV2HTTPResponse: events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"},
	}}
	var s string
	if json.Unmarshal(payload, &s) == nil {
		r.body = []byte(s)
	} else {
		r.body = bytes.TrimSpace(payload)
	}
	return r, nil
}

// write sends the response: headers, then multiValueHeaders, then each
// cookie as a Set-Cookie header.
func (r *result) write(w http.ResponseWriter) int {
	h := w.Header()
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	for k, vs := range r.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range r.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(r.body)))
	w.WriteHeader(r.StatusCode)
	_, _ = w.Write(r.body)
	return r.StatusCode
}

// newGatewayRequestID returns an id in the shape of API Gateway's
// requestId (base64 of 10 random bytes, "...=").
func newGatewayRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
