// Package awsroletest is test scaffolding for role access: a recording
// reverse proxy in front of a real server that speaks STS and S3 (moto, in
// bucketlink's tests). The real server answers every request; the proxy
// only writes down what the service sent (each AssumeRole call, and the
// access key id that signed each S3 request) and, when a test asks, answers
// AssumeRole itself with an STS error, since moto does not enforce trust
// policies.
package awsroletest

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// AssumeRoleCall is one AssumeRole request as it reached the proxy.
type AssumeRoleCall struct {
	RoleARN         string
	ExternalID      string
	SessionName     string
	DurationSeconds int
	// SignedBy is the access key id that signed the call (the service's
	// own).
	SignedBy string
	// IssuedKeyID is the AccessKeyId of the credentials STS returned; ""
	// when the call failed.
	IssuedKeyID string
}

// S3Request is one S3 request as it reached the proxy.
type S3Request struct {
	Method string
	Path   string
	// AccessKeyID signed the request.
	AccessKeyID string
	// SessionToken reports an X-Amz-Security-Token header (temporary
	// credentials).
	SessionToken bool
}

// STSError is an error answer the proxy gives to AssumeRole instead of
// forwarding it.
type STSError struct {
	Status  int    // e.g. 403
	Code    string // e.g. "AccessDenied"
	Message string
}

// Recorder is the recording proxy. URL is its endpoint, to use as both the
// STS and the S3 endpoint of the code under test.
type Recorder struct {
	URL string

	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	assumes  []AssumeRoleCall
	s3       []S3Request
	other    int
	stsError *STSError
}

// NewRecorder starts a proxy in front of upstream (e.g. moto's endpoint)
// and stops it when the test ends.
func NewRecorder(tb testing.TB, upstream string) *Recorder {
	tb.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		tb.Fatalf("awsroletest: upstream %q: %v", upstream, err)
	}
	r := &Recorder{}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // as signed
		},
		ModifyResponse: r.recordIssued,
	}
	srv := httptest.NewServer(r)
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// FailAssumeRole makes the proxy answer every AssumeRole with e, in STS's
// XML error shape; nil forwards them again.
func (r *Recorder) FailAssumeRole(e *STSError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stsError = e
}

// AssumeRoleCalls returns the AssumeRole calls so far.
func (r *Recorder) AssumeRoleCalls() []AssumeRoleCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AssumeRoleCall(nil), r.assumes...)
}

// S3Requests returns the S3 requests so far.
func (r *Recorder) S3Requests() []S3Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]S3Request(nil), r.s3...)
}

// Other returns how many requests were neither AssumeRole nor S3.
func (r *Recorder) Other() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.other
}

type callIndex struct{}

// ServeHTTP records req and forwards it, or answers an injected STS error.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	keyID, service := parseAuthorization(req.Header.Get("Authorization"))
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	switch {
	case service == "sts" && form.Get("Action") == "AssumeRole":
		seconds, _ := strconv.Atoi(form.Get("DurationSeconds"))
		r.assumes = append(r.assumes, AssumeRoleCall{
			RoleARN: form.Get("RoleArn"), ExternalID: form.Get("ExternalId"), SessionName: form.Get("RoleSessionName"),
			DurationSeconds: seconds, SignedBy: keyID,
		})
		if e := r.stsError; e != nil {
			r.mu.Unlock()
			writeSTSError(w, e)
			return
		}
		req = req.WithContext(context.WithValue(req.Context(), callIndex{}, len(r.assumes)-1))
	case service == "s3":
		r.s3 = append(r.s3, S3Request{Method: req.Method, Path: req.URL.Path, AccessKeyID: keyID,
			SessionToken: req.Header.Get("X-Amz-Security-Token") != ""})
	default:
		r.other++
	}
	r.mu.Unlock()
	r.proxy.ServeHTTP(w, req)
}

// recordIssued notes the AccessKeyId of a successful AssumeRole answer.
func (r *Recorder) recordIssued(resp *http.Response) error {
	i, ok := resp.Request.Context().Value(callIndex{}).(int)
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("awsroletest: read AssumeRole answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var out struct {
		AccessKeyID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("awsroletest: parse AssumeRole answer: %w", err)
	}
	r.mu.Lock()
	r.assumes[i].IssuedKeyID = out.AccessKeyID
	r.mu.Unlock()
	return nil
}

// credentialRE finds the key id and service of a SigV4 Authorization
// header: "Credential=<key id>/<date>/<region>/<service>/aws4_request".
var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request`)

func parseAuthorization(h string) (keyID, service string) {
	m := credentialRE.FindStringSubmatch(h)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// writeSTSError answers as STS does (the query protocol's XML error).
func writeSTSError(w http.ResponseWriter, e *STSError) {
	var b strings.Builder
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	b.WriteString(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` + "\n  <Error>\n    <Type>" + kind + "</Type>\n    <Code>")
	_ = xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code>\n    <Message>")
	_ = xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message>\n  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
	w.WriteHeader(e.Status)
	_, _ = io.WriteString(w, b.String())
}

// AccessDenied is the answer STS gives when a role's trust policy does not
// let the caller assume it (or requires another external id), or the role
// does not exist.
func AccessDenied(callerARN, roleARN string) *STSError {
	return &STSError{Status: http.StatusForbidden, Code: "AccessDenied",
		Message: "User: " + callerARN + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN}
}
