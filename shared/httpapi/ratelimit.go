package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
)

// The rate-limit headers of every authenticated answer of a limited class.
const (
	// HeaderLimit is the bucket's capacity: the requests a full bucket
	// admits at once (ratelimit.Rate.Burst).
	HeaderLimit = "X-RateLimit-Limit"
	// HeaderRemaining is how many more requests the bucket admits now.
	HeaderRemaining = "X-RateLimit-Remaining"
	// HeaderReset is the delta-seconds, rounded up, until the bucket is
	// full again (Remaining back to Limit); 0 when it is full.
	HeaderReset = "X-RateLimit-Reset"
)

// The 429 bodies: Django REST framework's Throttled for the storage-configs
// API, and the {success, error} shape of the bucket-verify API.
const (
	detailThrottled    = "Request was throttled. Expected available in %d %s."
	verifyErrThrottled = "Too many requests with this API key: bucket verification is rate limited. Expected available in %d %s."
)

// rateClass is the route class of a request, or false for a path of
// neither API (which authenticates nothing and answers 404). Methods
// that change nothing are reads; the others of the storage-configs API
// (create, test/, PATCH, DELETE) writes; every method of the bucket-verify
// routes is verify.
func rateClass(r *http.Request) (ratelimit.Class, bool) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/v1/api/organizations/"):
		return ratelimit.Verify, true
	case p == "/api/v1/storage-configs" || strings.HasPrefix(p, "/api/v1/storage-configs/"),
		p == "/api/v1/connect-sessions" || strings.HasPrefix(p, "/api/v1/connect-sessions/"):
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return ratelimit.Read, true
		}
		return ratelimit.Write, true
	}
	return "", false
}

// authResult is a request's authentication, done once: the rate limiter
// needs the key id before the handler runs, and the handler's
// s.authenticate then answers from it.
type authResult struct {
	p   *identity.Principal
	err error
}

type authKey struct{}

// authenticated returns the authentication already done for r, if any.
func authenticated(r *http.Request) (*authResult, bool) {
	a, ok := r.Context().Value(authKey{}).(*authResult)
	return a, ok
}

// limitRate applies s.Limiter, after authentication, to the requests of
// both APIs: it takes a token from the bucket of the caller's key id and
// the request's class, writes the X-RateLimit headers, and answers 429
// with Retry-After (delta-seconds) when the bucket is empty.
//
// Requests that do not authenticate are not limited here and carry no
// headers: there is no key to charge, and charging the key they name
// would let anyone who knows a key id, or holds a revoked key, drain a
// victim's bucket. Their handler answers 401 (or 503) as it would. The
// number of such requests is bounded by the HTTP API's stage throttling
// on AWS (template.yaml) and by nothing locally.
//
// A limiter that fails (DynamoDB unavailable) lets the request through
// without headers, and logs a warning: rate limiting protects the
// service, and must not take it down.
func (s *Server) limitRate(next http.Handler) http.Handler {
	if s.Limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class, ok := rateClass(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.authenticate(r)
		r = r.WithContext(context.WithValue(r.Context(), authKey{}, &authResult{p: p, err: err}))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.Limiter.Take(r.Context(), p.KeyID, class, s.now())
		l := logger(r.Context())
		switch {
		case err != nil:
			l.LogAttrs(r.Context(), slog.LevelWarn, "rate limiter failed; request not limited",
				slog.String("key_id", p.KeyID), slog.String("class", string(class)), slog.String("error", err.Error()))
		case d.Limit > 0:
			h := w.Header()
			h.Set(HeaderLimit, strconv.Itoa(d.Limit))
			h.Set(HeaderRemaining, strconv.Itoa(d.Remaining))
			h.Set(HeaderReset, strconv.Itoa(ceilSeconds(d.Reset)))
			if !d.Allowed {
				l.LogAttrs(r.Context(), slog.LevelInfo, "rate limited",
					slog.String("key_id", p.KeyID), slog.String("class", string(class)))
				metrics.OrNop(s.Metrics).RateLimited(string(class))
				writeThrottled(w, class, d)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeThrottled answers 429 in the shape of the request's API, with
// Retry-After: the whole seconds, rounded up, until the bucket holds a
// token again (at least 1).
func writeThrottled(w http.ResponseWriter, class ratelimit.Class, d ratelimit.Decision) {
	wait := max(1, ceilSeconds(d.RetryAfter))
	unit := "seconds"
	if wait == 1 {
		unit = "second"
	}
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	if class == ratelimit.Verify {
		writeJSON(w, http.StatusTooManyRequests, bucketverify.Failure(fmt.Sprintf(verifyErrThrottled, wait, unit)))
		return
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": fmt.Sprintf(detailThrottled, wait, unit)})
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
