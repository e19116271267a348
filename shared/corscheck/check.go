// Package corscheck checks, from the app's origins, that a browser may use
// a bucket: it sends the preflights a browser sends before a presigned
// upload (PUT, with Content-Type and the provider's own headers) and a
// read (GET), reads the answers the way a browser does (the Fetch
// standard's CORS check), reads the bucket's CORS rules where the
// credentials may, to say which rule is missing, and writes the fix in the
// provider's own terms: the CORS document, merged with the existing
// rules, and the command that applies it.
//
// It does no provider I/O but the preflights (sent through the caller's
// HTTP client, a netguard client for user-supplied endpoints) and the
// rules read (through blob.CORSReader), so it serves every provider.
package corscheck

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// Code is the outcome code of a failed CORS check.
type Code string

// The codes.
const (
	// CodeOriginNotAllowed: the bucket does not let the origin send the
	// request at all.
	CodeOriginNotAllowed Code = "cors_origin_not_allowed"
	// CodeMethodNotAllowed: the origin is allowed, the method (PUT for
	// the upload) is not.
	CodeMethodNotAllowed Code = "cors_method_not_allowed"
	// CodeHeaderNotAllowed: origin and method are allowed, a request
	// header the upload needs is not.
	CodeHeaderNotAllowed Code = "cors_header_not_allowed"
	// CodeUnknown: the preflight could not be judged (no answer, a 5xx,
	// a redirect, an answer no browser rule explains).
	CodeUnknown Code = "cors_unknown"
)

// DefaultTimeout bounds each round of preflights when Checker.Timeout is
// 0: a round is the preflights of every origin, sent concurrently.
const DefaultTimeout = 5 * time.Second

// Checker runs CORS checks. The zero value is not usable: Client is
// required.
type Checker struct {
	// Client sends the preflights: a netguard client
	// (netguard.Policy.HTTPClient) for user-supplied endpoints, which
	// bounds what an answer may cost. Its redirects are not followed.
	Client *http.Client
	// Timeout bounds each preflight (never past ctx's deadline); 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Target is the bucket a check looks at and the URLs a browser would use.
type Target struct {
	// Bucket names the bucket in the fix's commands.
	Bucket Bucket
	// UploadURL is a presigned PUT URL of a key under the prefix; only
	// its scheme, host and path are used.
	UploadURL string
	// UploadHeaders are the headers a PUT to UploadURL must carry
	// (blob.PresignPutHeaders: x-ms-blob-type on Azure). The preflight
	// asks for them and for Content-Type.
	UploadHeaders map[string]string
	// ReadURL is the URL of an object a browser reads; "" means
	// UploadURL's scheme, host and path (a preflight does not depend on
	// the object existing).
	ReadURL string
	// Rules reads the bucket's CORS rules; nil when the driver cannot
	// (blob.Bucket values that do not implement blob.CORSReader).
	Rules blob.CORSReader
}

// OriginResult is what a browser at one origin may do.
type OriginResult struct {
	Origin string `json:"origin"`
	// Upload is the judged preflight of the presigned PUT.
	Upload Answer `json:"upload"`
	// Read is the judged preflight of a GET.
	Read Answer `json:"read"`
	// Code is "" when both are allowed, else the upload's code, or the
	// read's when only the read fails.
	Code Code `json:"code,omitempty"`
	// Message says what fails and why, with what the rules show.
	Message string `json:"message"`
}

// Report is the outcome of a CORS check of every origin.
type Report struct {
	Origins []OriginResult `json:"origins"`
	// Code is "" when every origin passed; else the first origin's code
	// that is not CodeUnknown, or CodeUnknown.
	Code Code `json:"code,omitempty"`
	// Message sums up the failures ("" when every origin passed).
	Message string `json:"message,omitempty"`
	// Rules are the bucket's CORS rules as read; RulesRead reports the
	// read succeeded, and RulesNote says why they were not read.
	Rules     []blob.CORSRule `json:"-"`
	RulesRead bool            `json:"rulesRead"`
	RulesNote string          `json:"rulesNote,omitempty"`
	// Fix is the change that lets every failed origin through; nil when
	// none failed, or when every failure is CodeUnknown and the rules
	// could not be read.
	Fix *Fix `json:"fix,omitempty"`
}

// TargetOf is the target of a check of b: the presigned upload URL, the
// headers b's PUTs must carry, and b's rules when its driver reads them.
func TargetOf(b blob.Bucket, name Bucket, uploadURL string) Target {
	t := Target{Bucket: name, UploadURL: uploadURL, UploadHeaders: blob.PresignPutHeaders(b)}
	if r, ok := b.(blob.CORSReader); ok {
		t.Rules = r
	}
	return t
}

// NotRun is the report of a check that could not send its preflights:
// every origin cannot be judged, for reason.
func NotRun(origins []string, reason string) Report {
	rep := Report{Origins: make([]OriginResult, len(origins)), RulesNote: "The rules were not read."}
	for i, o := range origins {
		a := Answer{Code: CodeUnknown, Reason: reason}
		rep.Origins[i] = OriginResult{Origin: o, Upload: a, Read: a}
	}
	rep.summarise()
	return rep
}

// Passed reports whether every origin may upload and read.
func (r Report) Passed() bool { return r.Code == "" }

// Wants is what an app origin must be allowed for uploads whose PUT
// carries headers (besides Content-Type) and for reads.
func Wants(uploadHeaders map[string]string) []Want {
	hs := []string{"content-type"}
	for h := range uploadHeaders {
		hs = unionFold(hs, strings.ToLower(h))
	}
	slices.Sort(hs[1:])
	return []Want{{Method: http.MethodGet}, {Method: http.MethodPut, Headers: hs}}
}

// Check sends, for every origin concurrently, the preflights of an upload
// and of a read, reads the bucket's rules at the same time, refines a
// refusal that does not say why (from the rules, or with narrower
// preflights), and writes the fix. Without failures it costs one round
// trip; a refusal that must be refined without rules costs one more.
func (c *Checker) Check(ctx context.Context, t Target, origins []string) Report {
	wants := Wants(t.UploadHeaders)
	readURL := t.ReadURL
	if readURL == "" {
		readURL = t.UploadURL
	}
	var (
		wg    sync.WaitGroup
		rules []blob.CORSRule
		rerr  error
	)
	if t.Rules != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, c.timeout())
			defer cancel()
			rules, rerr = t.Rules.CORS(ctx)
		}()
	}
	rep := Report{Origins: make([]OriginResult, len(origins))}
	for i, o := range origins {
		rep.Origins[i].Origin = o
	}
	c.sendAll(ctx, len(origins)*2, func(i int) (Preflight, *Answer) {
		or := &rep.Origins[i/2]
		if i%2 == 0 {
			return Preflight{URL: t.UploadURL, Origin: or.Origin, Method: http.MethodPut, Headers: wants[1].Headers}, &or.Upload
		}
		return Preflight{URL: readURL, Origin: or.Origin, Method: http.MethodGet}, &or.Read
	})
	wg.Wait()
	switch {
	case t.Rules == nil:
		rep.RulesNote = "bucketlink cannot read this provider's CORS rules."
	case rerr != nil:
		rep.RulesNote = "The CORS rules could not be read with these credentials (" + string(blob.CodeOf(rerr)) + ")" + rulesHint(rerr) + "."
	default:
		rep.Rules, rep.RulesRead = rules, true
	}
	c.refine(ctx, &rep, t, readURL, wants)
	rep.summarise()
	rep.Fix = rep.fix(t.Bucket, wants)
	return rep
}

// rulesHint adds the cause's own words for a rules read refused for a
// known reason (Azure's SAS tokens that cannot read service properties).
func rulesHint(err error) string {
	var be *blob.Error
	if errors.As(err, &be) && be.Code == blob.AccessDenied && be.Err != nil && strings.Contains(be.Err.Error(), "SAS") {
		return ": " + strings.TrimPrefix(be.Err.Error(), "azureblob: ")
	}
	return ""
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// sendAll sends n preflights concurrently, each under the Timeout, and
// stores each answer where pick says.
func (c *Checker) sendAll(ctx context.Context, n int, pick func(i int) (Preflight, *Answer)) {
	var wg sync.WaitGroup
	for i := range n {
		p, dst := pick(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, c.timeout())
			defer cancel()
			*dst = Send(ctx, c.Client, p)
		}()
	}
	wg.Wait()
}

// refine replaces the browser's reading of a silent refusal (no
// Access-Control-Allow-Origin: "origin not allowed") with what is really
// missing: from the rules when they were read; otherwise, for an upload
// whose origin may read, from narrower preflights (PUT without headers,
// PUT with each header alone), sent concurrently.
func (c *Checker) refine(ctx context.Context, rep *Report, t Target, readURL string, wants []Want) {
	type probe struct {
		or      *OriginResult
		headers []string // nil: PUT without headers
		answer  Answer
	}
	var probes []*probe
	for i := range rep.Origins {
		or := &rep.Origins[i]
		for _, x := range []struct {
			a *Answer
			w Want
		}{{&or.Upload, wants[1]}, {&or.Read, wants[0]}} {
			if !x.a.Silent {
				continue
			}
			if rep.RulesRead {
				if code, why, h := diagnose(rep.Rules, or.Origin, x.w); code != "" {
					x.a.Code, x.a.Reason, x.a.Header = code, x.a.Reason+" "+why, h
				} else {
					x.a.Reason += " " + why + " The endpoint answers otherwise than the bucket's rules say (a server-wide CORS setting, or a proxy in front of the bucket)."
				}
				continue
			}
			switch {
			case x.w.Method == http.MethodGet && or.Upload.Allowed:
				x.a.Code = CodeMethodNotAllowed
			case x.w.Method == http.MethodPut && or.Read.Allowed:
				probes = append(probes, &probe{or: or})
				for _, h := range x.w.Headers {
					probes = append(probes, &probe{or: or, headers: []string{h}})
				}
			}
		}
	}
	if len(probes) == 0 {
		return
	}
	c.sendAll(ctx, len(probes), func(i int) (Preflight, *Answer) {
		p := probes[i]
		return Preflight{URL: t.UploadURL, Origin: p.or.Origin, Method: http.MethodPut, Headers: p.headers}, &p.answer
	})
	for i := 0; i < len(probes); {
		or, bare := probes[i].or, probes[i].answer
		j := i + 1
		for j < len(probes) && probes[j].or == or {
			j++
		}
		switch {
		case !bare.Allowed:
			or.Upload.Code = CodeMethodNotAllowed
			or.Upload.Reason += " The origin may send GET, and a PUT without request headers is refused too, so PUT is not allowed."
		default:
			or.Upload.Code = CodeHeaderNotAllowed
			var refused []string
			for _, p := range probes[i+1 : j] {
				if !p.answer.Allowed {
					refused = append(refused, p.headers[0])
				}
			}
			if len(refused) == 0 {
				refused = wants[1].Headers // each alone passes, together they do not
			}
			or.Upload.Header = refused[0]
			or.Upload.Reason += " A PUT without request headers is allowed, so the request " + plural(len(refused), "header") + " " + strings.Join(refused, ", ") + " " + isAre(len(refused)) + " not."
		}
		i = j
	}
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// summarise sets each origin's code and message and the report's.
func (rep *Report) summarise() {
	var msgs []string
	for i := range rep.Origins {
		or := &rep.Origins[i]
		switch {
		case !or.Upload.Allowed:
			or.Code = or.Upload.Code
		case !or.Read.Allowed:
			or.Code = or.Read.Code
		}
		var parts []string
		if !or.Upload.Allowed {
			parts = append(parts, "uploads: "+or.Upload.Reason)
		}
		if !or.Read.Allowed {
			parts = append(parts, "reads: "+or.Read.Reason)
		}
		if len(parts) == 0 {
			or.Message = "A browser at " + or.Origin + " may upload with the presigned URL and read objects."
			continue
		}
		or.Message = "A browser at " + or.Origin + " cannot use the bucket; " + strings.Join(parts, " ")
		msgs = append(msgs, or.Message)
		if rep.Code == "" || (rep.Code == CodeUnknown && or.Code != CodeUnknown) {
			rep.Code = or.Code
		}
	}
	rep.Message = strings.Join(msgs, " ")
}

// fix is the fix for the origins that failed: those refused for a known
// reason, and those that could not be judged but that the read rules do
// not serve.
func (rep *Report) fix(b Bucket, wants []Want) *Fix {
	var failed []string
	for _, or := range rep.Origins {
		switch {
		case or.Code == "":
		case or.Code != CodeUnknown:
			failed = append(failed, or.Origin)
		case rep.RulesRead:
			for _, w := range wants {
				if code, _ := Diagnose(rep.Rules, or.Origin, w); code != "" {
					failed = append(failed, or.Origin)
					break
				}
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if f := NewFix(b, rep.Rules, rep.RulesRead, failed, wants); f != nil {
		return f
	}
	// The rules serve every failed origin, yet the endpoint refuses them.
	f := NewFix(b, nil, false, failed, wants)
	f.Merged = false
	f.Note = "The bucket's CORS rules already allow " + strings.Join(failed, ", ") + ", yet the endpoint refuses the preflight: " +
		"something else answers it (a server-wide CORS setting, or a proxy or CDN in front of the bucket). If the rules change, this is the rule to keep. " + f.Note
	return f
}
