package corscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Preflight is one CORS-preflight request, as a browser sends it before a
// cross-origin request that is not "simple" (Fetch standard, section
// 4.8 "CORS-preflight fetch").
type Preflight struct {
	// URL is the URL of the actual request. Only its scheme, host and
	// path are used: the query (which holds a presigned URL's signature,
	// or an Azure SAS token) is never sent, and providers judge CORS by
	// bucket and path, not by query.
	URL string
	// Origin is the serialized origin of the page (see ParseOrigin).
	Origin string
	// Method is the actual request's method: PUT for the presigned
	// upload, GET for reads.
	Method string
	// Headers are the names of the request headers the actual request
	// carries that are not CORS-safelisted (Content-Type of an upload,
	// Azure's x-ms-blob-type). They are sent lower-cased, sorted and
	// comma-separated in Access-Control-Request-Headers, as browsers do.
	Headers []string
}

// requestHeaders is the Access-Control-Request-Headers value of p: the
// Fetch standard's "CORS-unsafe request-header names", byte-lowercased,
// de-duplicated and sorted, joined by "," ("" when there are none).
func (p Preflight) requestHeaders() []string {
	var hs []string
	for _, h := range p.Headers {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" && !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	return hs
}

// target is the URL the preflight is sent to: p.URL without query,
// fragment or user information.
func (p Preflight) target() (string, error) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		return "", errors.New("corscheck: the URL to preflight is not an absolute URL")
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// Answer is what a browser would make of one preflight.
type Answer struct {
	// Allowed reports that the browser would go on with the actual request.
	Allowed bool `json:"allowed"`
	// Code is "" when Allowed, else why not (one of the Code constants).
	Code Code `json:"code,omitempty"`
	// Status is the HTTP status of the answer; 0 when none came.
	Status int `json:"status,omitempty"`
	// Reason says, in a sentence, what the browser would conclude. It
	// never holds the URL's query.
	Reason string `json:"reason"`
	// Header is, for CodeHeaderNotAllowed, the request header refused.
	Header string `json:"header,omitempty"`
	// Silent reports a refusal without Access-Control-Allow-Origin (S3
	// and Azure answer 403 without naming why, MinIO 204 without CORS
	// headers): Code is then CodeOriginNotAllowed, the browser's reading,
	// and Check refines it from the rules or from narrower preflights.
	Silent bool `json:"-"`
}

// maxDrain is how much of a preflight answer's body is read before the
// connection is given back; a preflight answer has no meaningful body.
const maxDrain = 4 << 10

// Send sends p through client, whose redirects it does not follow (a
// browser does not follow a redirect of a preflight), and judges the
// answer with Judge. A network failure, a timeout or a refused address
// gives CodeUnknown. It reads at most a few KiB of the body; bound the
// call with ctx, and give it a netguard client (netguard.Policy.HTTPClient)
// for any user-supplied endpoint.
func Send(ctx context.Context, client *http.Client, p Preflight) Answer {
	target, err := p.target()
	if err != nil {
		return Answer{Code: CodeUnknown, Reason: "The preflight was not sent: " + err.Error() + "."}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, target, nil)
	if err != nil {
		return Answer{Code: CodeUnknown, Reason: "The preflight was not sent: the URL is not valid."}
	}
	req.Header.Set("Origin", p.Origin)
	req.Header.Set("Access-Control-Request-Method", p.Method)
	if hs := p.requestHeaders(); len(hs) > 0 {
		req.Header.Set("Access-Control-Request-Headers", strings.Join(hs, ","))
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return Answer{Code: CodeUnknown, Reason: "The preflight got no answer: " + networkReason(ctx, err) + "."}
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	return Judge(p, resp.StatusCode, resp.Header)
}

// networkReason describes a failed round trip without the URL (whose
// query Send never sends, but whose host and path need no repeating).
func networkReason(ctx context.Context, err error) string {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return "the endpoint did not answer in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// Judge reads a preflight's answer the way a browser does (Fetch standard:
// the CORS check, then the CORS-preflight fetch's checks of the status and
// of Access-Control-Allow-Methods and -Headers), for a request without
// credentials (a presigned URL carries its own authorization, so uploads
// and reads are sent with credentials mode "same-origin" or "omit"):
//
//   - Access-Control-Allow-Origin must be "*" or exactly p.Origin, sent
//     once (two values, or a list, match nothing);
//   - the status must be 2xx ("ok status");
//   - p.Method must be a CORS-safelisted method (GET, HEAD, POST) or be
//     listed in Access-Control-Allow-Methods (methods compare
//     byte-for-byte), or the list must hold "*";
//   - each of p.Headers must be listed in Access-Control-Allow-Headers
//     (names compare case-insensitively), or the list must hold "*"
//     (which never covers Authorization).
//
// A 5xx or 429 answer, or a redirect, cannot be judged (CodeUnknown): it
// says nothing about the rules.
func Judge(p Preflight, status int, h http.Header) Answer {
	a := Answer{Status: status}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		a.Code, a.Reason = CodeUnknown, fmt.Sprintf("The preflight was answered with status %d, which says nothing about the CORS rules; try again.", status)
		return a
	case status >= 300 && status < 400:
		a.Code, a.Reason = CodeUnknown, fmt.Sprintf("The preflight was answered with a redirect (status %d), which a browser does not follow for a preflight; the URL does not reach the bucket's own endpoint (check the region or endpoint).", status)
		return a
	}
	acao := h.Values("Access-Control-Allow-Origin")
	switch {
	case len(acao) == 0:
		a.Code, a.Silent = CodeOriginNotAllowed, true
		if status >= 200 && status < 300 {
			a.Reason = fmt.Sprintf("The preflight from %s was answered without Access-Control-Allow-Origin, so a browser refuses the %s.", p.Origin, p.Method)
		} else {
			a.Reason = fmt.Sprintf("The preflight from %s for %s was refused with status %d and no Access-Control-Allow-Origin.", p.Origin, p.Method, status)
		}
		return a
	case len(acao) > 1 || (strings.TrimSpace(acao[0]) != "*" && strings.TrimSpace(acao[0]) != p.Origin):
		a.Code = CodeOriginNotAllowed
		a.Reason = fmt.Sprintf("The preflight from %s was answered with Access-Control-Allow-Origin %q, which does not match the origin.", p.Origin, strings.Join(acao, ", "))
		return a
	}
	if status < 200 || status > 299 {
		a.Code = CodeUnknown
		a.Reason = fmt.Sprintf("The preflight from %s was answered with status %d; a browser needs a 2xx answer to a preflight.", p.Origin, status)
		return a
	}
	methods := headerList(h, "Access-Control-Allow-Methods")
	if !safelistedMethod(p.Method) && !slices.Contains(methods, p.Method) && !slices.Contains(methods, "*") {
		a.Code = CodeMethodNotAllowed
		a.Reason = fmt.Sprintf("The preflight from %s allows the methods %s, not %s.", p.Origin, listOrNone(methods), p.Method)
		return a
	}
	allowed := headerList(h, "Access-Control-Allow-Headers")
	for _, name := range p.requestHeaders() {
		if !headerAllowed(allowed, name) {
			a.Code, a.Header = CodeHeaderNotAllowed, name
			a.Reason = fmt.Sprintf("The preflight from %s for %s allows the request headers %s, not %s.", p.Origin, p.Method, listOrNone(allowed), name)
			return a
		}
	}
	a.Allowed = true
	a.Reason = fmt.Sprintf("A browser at %s may send the %s.", p.Origin, p.Method)
	return a
}

// headerAllowed reports whether the request header name (lower case) is
// in the Access-Control-Allow-Headers list, by the Fetch standard's rules
// for a request without credentials.
func headerAllowed(allowed []string, name string) bool {
	for _, a := range allowed {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return name != "authorization" && slices.Contains(allowed, "*")
}

// safelistedMethod reports a CORS-safelisted method, which needs no
// Access-Control-Allow-Methods entry.
func safelistedMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }

// headerList is the Fetch standard's "extracting header list values":
// every value of the header, split at commas, trimmed, empties dropped.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}
