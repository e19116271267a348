package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
)

// limitedEnv is an API with a rate limiter and a clock of the test's
// own: the real SQLite store and sealer, a queue that accepts
// verifications and runs none (their records stay connecting), no
// verifier (no request here reaches one), and the orgs and keys of
// seedOrgs.
type limitedEnv struct {
	*env
	clock *testClock
	logs  *lockedBuffer
}

func newLimitedEnv(t *testing.T, l ratelimit.Limiter) *limitedEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "bucketlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := localseal.Open(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	e := &limitedEnv{
		env:   &env{t: t, store: st, orgs: map[string]*identity.Org{}, keys: map[string]string{}, account: "123456789012"},
		clock: &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		logs:  &lockedBuffer{},
	}
	api := &httpapi.Server{
		Store:        st,
		Sealer:       sealer,
		CursorKey:    sealer.DeriveKey("pagination-cursor"),
		AWSAccountID: e.account,
		Logger:       slog.New(slog.NewJSONHandler(io.MultiWriter(syncWriter{}, e.logs), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          e.clock.Now,
		Queue:        acceptAll{},
		VerifyKey:    sealer.DeriveKey("verification-record-key"),
		Limiter:      l,
	}
	e.srv = httptest.NewServer(openapitest.Handler(t, api.Handler()))
	t.Cleanup(e.srv.Close)
	seedOrgs(t, st, e.orgs, e.keys)
	return e
}

func memoryLimiter(t *testing.T, l ratelimit.Limits) ratelimit.Limiter {
	t.Helper()
	m, err := ratelimit.NewMemory(l)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// perSecond is n requests a second's worth: one token a second, a burst of n.
func perSecond(n int) ratelimit.Rate { return ratelimit.Rate{Count: 60, Per: time.Minute, Burst: n} }

// acceptAll is a queue that takes every verification and runs none.
type acceptAll struct{}

func (acceptAll) Send(context.Context, ...queue.Message) error { return nil }

// testClock is the API's clock, moved by the test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const configsPath = "/api/v1/storage-configs/"

func rlVerifyPath(org *identity.Org) string {
	return "/v1/api/organizations/" + strconv.FormatInt(org.ID, 10) + "/buckets/verify"
}

// verifyBody is a bucket-verify request with credentials; it starts a
// verification that acceptAll never runs.
func verifyBody(bucket string) map[string]any {
	secret := "rl-secret-" + uuid.NewString()
	rememberSecret(secret)
	return map[string]any{"storageProvider": "other", "endpoint": "https://s3.example.com", "accessKey": "AKIARATELIMIT",
		"secretKey": secret, "bucket": bucket, "prefix": ""}
}

// rateHeaders returns the three headers as integers, failing when one is
// missing or not a non-negative integer.
func rateHeaders(t *testing.T, what string, r response) (limit, remaining, reset int) {
	t.Helper()
	var out [3]int
	for i, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		v := r.Header.Get(h)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("%s (%d): %s = %q, want a non-negative integer; body %s", what, r.Status, h, v, r.Body)
		}
		out[i] = n
	}
	return out[0], out[1], out[2]
}

// TestRateLimitHeadersOnEveryResponse sends a request of every route and
// outcome with a valid key: each answer carries the headers of its
// class, recognizable by its Limit. Requests that do not authenticate, and
// paths of neither API, carry none.
func TestRateLimitHeadersOnEveryResponse(t *testing.T) {
	const verifyBurst, writeBurst, readBurst = 50, 40, 30
	e := newLimitedEnv(t, memoryLimiter(t, ratelimit.Limits{Verify: perSecond(verifyBurst), Write: perSecond(writeBurst), Read: perSecond(readBurst)}))
	admin, viewer := e.keys["acme/admin"], e.keys["acme/viewer"]
	acme, other := e.orgs["acme"], e.orgs["other"]
	unknown := configsPath + uuid.NewString() + "/"
	existing := "/v1/api/organizations/" + strconv.FormatInt(acme.ID, 10) + "/buckets/999999/verify"
	tests := []struct {
		name         string
		method, path string
		key          string
		body         any
		status       int
		limit        int // 0: no headers
	}{
		{"list", "GET", configsPath, admin, nil, 200, readBurst},
		{"list without the slash", "GET", strings.TrimSuffix(configsPath, "/"), admin, nil, 200, readBurst},
		{"list of a foreign org", "GET", configsPath + "?organization=" + other.Slug, admin, nil, 403, readBurst},
		{"setup-info", "GET", configsPath + "setup-info/", viewer, nil, 200, readBurst},
		{"get unknown", "GET", unknown, admin, nil, 404, readBurst},
		{"verifications of unknown", "GET", unknown + "verifications/", admin, nil, 404, readBurst},
		{"create invalid", "POST", configsPath, admin, map[string]any{}, 400, writeBurst},
		{"create as viewer", "POST", configsPath, viewer, map[string]any{"name": "x"}, 403, writeBurst},
		{"patch unknown", "PATCH", unknown, admin, map[string]any{"name": "x"}, 404, writeBurst},
		{"delete unknown", "DELETE", unknown, admin, nil, 404, writeBurst},
		{"test unknown", "POST", unknown + "test/", admin, nil, 404, writeBurst},
		{"method not allowed", "PUT", configsPath, admin, nil, 405, writeBurst},
		{"verify", "POST", rlVerifyPath(acme), admin, verifyBody("rl-headers"), 200, verifyBurst},
		{"verify a foreign org", "POST", rlVerifyPath(other), admin, verifyBody("rl-headers"), 403, verifyBurst},
		{"verify an unknown bucketId", "POST", existing, admin, map[string]any{"prefix": ""}, 200, verifyBurst},
		{"verify with GET", "GET", rlVerifyPath(acme), admin, nil, 405, verifyBurst},
		{"no key", "GET", configsPath, "", nil, 401, 0},
		{"unknown key", "GET", configsPath, "blk_" + strings.Repeat("0", 40), nil, 401, 0},
		{"verify without a key", "POST", rlVerifyPath(acme), "", verifyBody("rl-headers"), 401, 0},
		{"a path of neither API", "GET", "/nothing/here", admin, nil, 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do(tt.method, tt.path, tt.key, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.limit == 0 {
				for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
					if v := r.Header.Get(h); v != "" {
						t.Errorf("%s: %q on an answer that charged no key", h, v)
					}
				}
				return
			}
			if limit, remaining, _ := rateHeaders(t, tt.name, r); limit != tt.limit || remaining >= limit {
				t.Errorf("limit %d, remaining %d; want the limit %d of its class, and fewer remaining", limit, remaining, tt.limit)
			}
		})
	}
}

// TestRateLimitCountsDown: Remaining falls by one a request and Reset
// grows by the token's second; the clock refills the bucket.
func TestRateLimitCountsDown(t *testing.T) {
	e := newLimitedEnv(t, memoryLimiter(t, ratelimit.Limits{Read: perSecond(5)}))
	key := e.keys["acme/member"]
	for i := range 3 {
		limit, remaining, reset := rateHeaders(t, "list", e.do("GET", configsPath, key, nil))
		if limit != 5 || remaining != 4-i || reset != i+1 {
			t.Fatalf("request %d: limit %d, remaining %d, reset %d; want 5, %d, %d", i, limit, remaining, reset, 4-i, i+1)
		}
	}
	e.clock.Advance(3 * time.Second) // full again
	if _, remaining, reset := rateHeaders(t, "list", e.do("GET", configsPath, key, nil)); remaining != 4 || reset != 1 {
		t.Fatalf("after the reset: remaining %d, reset %d; want 4, 1", remaining, reset)
	}
	// A class without a rate answers without headers.
	if r := e.do("DELETE", configsPath+uuid.NewString()+"/", key, nil); r.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("an unlimited class carries %q", r.Header.Get("X-RateLimit-Limit"))
	}
}

// TestRateLimitThrottles drains a key's buckets: past the burst, 429 in
// each API's documented shape with Retry-After, the other key and the
// other classes unaffected, and the bucket refilled with the clock.
func TestRateLimitThrottles(t *testing.T) {
	e := newLimitedEnv(t, memoryLimiter(t, ratelimit.Limits{
		Verify: perSecond(2),
		Write:  ratelimit.Rate{Count: 1, Per: time.Minute, Burst: 1},
		Read:   perSecond(3),
	}))
	a, b := e.keys["acme/admin"], e.keys["acme/member"]
	acme := e.orgs["acme"]

	t.Run("storage-configs", func(t *testing.T) {
		e.t = t
		for i := range 3 {
			if r := e.do("GET", configsPath, a, nil); r.Status != 200 {
				t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
			}
		}
		r := e.do("GET", configsPath, a, nil)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("past the burst: %d %s", r.Status, r.Body)
		}
		if got := r.json(t); len(got) != 1 || got["detail"] != "Request was throttled. Expected available in 1 second." {
			t.Errorf("body %s, want DRF's throttled detail", r.Body)
		}
		if r.Header.Get("Retry-After") != "1" || r.Header.Get("X-Request-Id") == "" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v, want Retry-After 1, a request id, JSON", r.Header)
		}
		if limit, remaining, reset := rateHeaders(t, "429", r); limit != 3 || remaining != 0 || reset != 3 {
			t.Errorf("429: limit %d, remaining %d, reset %d; want 3, 0, 3", limit, remaining, reset)
		}
		if r := e.do("GET", configsPath, b, nil); r.Status != 200 {
			t.Errorf("another key of the same user's org: %d %s", r.Status, r.Body)
		}
		if r := e.do("GET", configsPath+"setup-info/", a, nil); r.Status != http.StatusTooManyRequests {
			t.Errorf("setup-info shares the read bucket: %d", r.Status)
		}
		// Writes: one a minute; the wait is in seconds, plural.
		if r := e.do("DELETE", configsPath+uuid.NewString()+"/", a, nil); r.Status != 404 {
			t.Fatalf("first write: %d %s", r.Status, r.Body)
		}
		r = e.do("PATCH", configsPath+uuid.NewString()+"/", a, map[string]any{"name": "x"})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" ||
			r.json(t)["detail"] != "Request was throttled. Expected available in 60 seconds." {
			t.Errorf("second write: %d, Retry-After %q, %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		e.clock.Advance(time.Second)
		if r := e.do("GET", configsPath, a, nil); r.Status != 200 {
			t.Errorf("a second later: %d %s", r.Status, r.Body)
		}
	})

	t.Run("bucket-verify", func(t *testing.T) {
		e.t = t
		body := verifyBody("rl-throttle")
		for i := range 2 {
			if r := e.do("POST", rlVerifyPath(acme), a, body); r.Status != 200 || r.json(t)["success"] != true {
				t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
			}
		}
		r := e.do("POST", rlVerifyPath(acme), a, body)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("past the burst: %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		got := r.json(t)
		if msg, _ := got["error"].(string); len(got) != 2 || got["success"] != false || !strings.Contains(msg, "rate limited") || !strings.HasSuffix(msg, "Expected available in 1 second.") {
			t.Errorf("body %s, want success false and the error", r.Body)
		}
		// The existing-bucket route shares the bucket.
		existing := "/v1/api/organizations/" + strconv.FormatInt(acme.ID, 10) + "/buckets/1/verify"
		if r := e.do("POST", existing, a, map[string]any{"prefix": ""}); r.Status != http.StatusTooManyRequests {
			t.Errorf("the existing-bucket verify: %d %s", r.Status, r.Body)
		}
		if r := e.do("POST", rlVerifyPath(acme), b, body); r.Status != 200 {
			t.Errorf("another key: %d %s", r.Status, r.Body)
		}
	})
	if !strings.Contains(e.logs.String(), `"msg":"rate limited"`) {
		t.Error("no log line for the throttled requests")
	}
}

// TestRateLimitChargesOnlyAuthenticatedKeys: requests without a valid key
// (none, unknown, or a revoked one) take nothing from any bucket, so
// nobody can drain a key's bucket without holding the key.
func TestRateLimitChargesOnlyAuthenticatedKeys(t *testing.T) {
	e := newLimitedEnv(t, memoryLimiter(t, ratelimit.Limits{Read: perSecond(2)}))
	revoked, k, err := provision.CreateAPIKey(t.Context(), e.store, "acme", identity.RoleAdmin, "rl-revoked")
	if err != nil {
		t.Fatal(err)
	}
	rememberSecret(revoked)
	if err := e.store.RevokeAPIKey(t.Context(), k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "blk_" + strings.Repeat("1", 40), revoked} {
		for range 5 {
			if r := e.do("GET", configsPath, key, nil); r.Status != 401 {
				t.Fatalf("key %q: %d", key, r.Status)
			}
		}
	}
	if _, remaining, _ := rateHeaders(t, "list", e.do("GET", configsPath, e.keys["acme/admin"], nil)); remaining != 1 {
		t.Errorf("remaining %d after others' unauthenticated requests, want 1 (a full bucket of 2, less this request)", remaining)
	}
}

// failingLimiter is a limiter whose storage is down.
type failingLimiter struct{}

func (failingLimiter) Take(context.Context, string, ratelimit.Class, time.Time) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("dynamodb: ThrottlingException")
}

// TestRateLimiterFailsOpen: a limiter that cannot decide lets requests
// through, without headers, and logs why.
func TestRateLimiterFailsOpen(t *testing.T) {
	e := newLimitedEnv(t, failingLimiter{})
	for _, r := range []response{
		e.do("GET", configsPath, e.keys["acme/admin"], nil),
		e.do("POST", rlVerifyPath(e.orgs["acme"]), e.keys["acme/admin"], verifyBody("rl-open")),
	} {
		if r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("%d, limit %q: %s", r.Status, r.Header.Get("X-RateLimit-Limit"), r.Body)
		}
	}
	if logs := e.logs.String(); strings.Count(logs, "rate limiter failed; request not limited") != 2 || !strings.Contains(logs, "ThrottlingException") {
		t.Errorf("want two warnings with the cause in the log:\n%s", logs)
	}
}
