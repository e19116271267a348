// Package ratelimittest is the conformance suite of ratelimit.Limiter:
// every implementation's test is one call,
//
//	ratelimittest.Run(t, func(t *testing.T, l ratelimit.Limits) ratelimit.Limiter { ... })
//
// against its real storage. The suite passes its own clock to Take, so no
// test waits; it uses fresh random keys in every test, so one table or
// process may serve all of them.
package ratelimittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/ratelimit"
)

// NewLimiter returns a Limiter with limits, on storage that t may share
// with the suite's other tests.
type NewLimiter func(t *testing.T, limits ratelimit.Limits) ratelimit.Limiter

// t0 is the suite's clock origin; times are t0 plus offsets.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, newLimiter NewLimiter) {
	// 60/min: one token a second, so offsets read as token counts.
	perSecond := ratelimit.Rate{Count: 60, Per: time.Minute, Burst: 3}
	limits := ratelimit.Limits{
		Verify: perSecond,
		Write:  ratelimit.Rate{Count: 120, Per: time.Minute, Burst: 2}, // a token every 500 ms
		Read:   ratelimit.Rate{},                                       // not limited
	}
	tests := []struct {
		name string
		run  func(t *testing.T, l ratelimit.Limiter)
	}{
		{"a full bucket admits its burst, then refuses", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			for i := range 3 {
				expect(t, take(t, l, k, ratelimit.Verify, 0), ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2 - i, Reset: time.Duration(i+1) * time.Second})
			}
			expect(t, take(t, l, k, ratelimit.Verify, 0), ratelimit.Decision{Limit: 3, Reset: 3 * time.Second, RetryAfter: time.Second})
		}},
		{"a refused request takes nothing", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			for range 3 {
				take(t, l, k, ratelimit.Verify, 0)
			}
			for range 5 {
				if d := take(t, l, k, ratelimit.Verify, 500*time.Millisecond); d.Allowed {
					t.Fatalf("allowed with an empty bucket: %+v", d)
				}
			}
			// One token a second after the burst, whatever was refused.
			expect(t, take(t, l, k, ratelimit.Verify, time.Second), ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 3 * time.Second})
			expect(t, take(t, l, k, ratelimit.Verify, time.Second), ratelimit.Decision{Limit: 3, Reset: 3 * time.Second, RetryAfter: time.Second})
		}},
		{"it refills at the rate", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			for range 3 {
				take(t, l, k, ratelimit.Verify, 0)
			}
			// 2.5 s later: two tokens, and the next in 500 ms.
			at := 2500 * time.Millisecond
			expect(t, take(t, l, k, ratelimit.Verify, at), ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 1500 * time.Millisecond})
			expect(t, take(t, l, k, ratelimit.Verify, at), ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 2500 * time.Millisecond})
			expect(t, take(t, l, k, ratelimit.Verify, at), ratelimit.Decision{Limit: 3, Reset: 2500 * time.Millisecond, RetryAfter: 500 * time.Millisecond})
		}},
		{"an idle bucket is full, never fuller", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			take(t, l, k, ratelimit.Verify, 0)
			idle := 7 * 24 * time.Hour
			for i := range 3 {
				if d := take(t, l, k, ratelimit.Verify, idle); !d.Allowed || d.Remaining != 2-i {
					t.Fatalf("request %d after a week: %+v, want allowed with %d remaining", i, d, 2-i)
				}
			}
			if d := take(t, l, k, ratelimit.Verify, idle); d.Allowed {
				t.Fatalf("a week of idleness gave more than the burst: %+v", d)
			}
		}},
		{"full again after Reset", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			take(t, l, k, ratelimit.Verify, 0)
			d := take(t, l, k, ratelimit.Verify, 0)
			if d.Reset != 2*time.Second {
				t.Fatalf("Reset = %s, want 2s", d.Reset)
			}
			expect(t, take(t, l, k, ratelimit.Verify, d.Reset), ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Second})
		}},
		{"the next token after RetryAfter", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			var d ratelimit.Decision
			for d = take(t, l, k, ratelimit.Write, 0); d.Allowed; d = take(t, l, k, ratelimit.Write, 0) {
			}
			if d.RetryAfter != 500*time.Millisecond {
				t.Fatalf("RetryAfter = %s, want 500ms (120/min)", d.RetryAfter)
			}
			if d := take(t, l, k, ratelimit.Write, d.RetryAfter-time.Microsecond); d.Allowed {
				t.Fatalf("allowed a microsecond before RetryAfter: %+v", d)
			}
			if d := take(t, l, k, ratelimit.Write, d.RetryAfter); !d.Allowed || d.Remaining != 0 {
				t.Fatalf("at RetryAfter: %+v, want allowed with none remaining", d)
			}
		}},
		{"keys are independent", func(t *testing.T, l ratelimit.Limiter) {
			a, b := Key(t), Key(t)
			for range 3 {
				take(t, l, a, ratelimit.Verify, 0)
			}
			if d := take(t, l, a, ratelimit.Verify, 0); d.Allowed {
				t.Fatalf("a: %+v", d)
			}
			if d := take(t, l, b, ratelimit.Verify, 0); !d.Allowed || d.Remaining != 2 {
				t.Fatalf("b after a's burst: %+v, want a full bucket", d)
			}
		}},
		{"classes are independent", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			for range 3 {
				take(t, l, k, ratelimit.Verify, 0)
			}
			expect(t, take(t, l, k, ratelimit.Write, 0), ratelimit.Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 500 * time.Millisecond})
		}},
		{"a class without a rate is not limited", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			for range 10 {
				expect(t, take(t, l, k, ratelimit.Read, 0), ratelimit.Unlimited)
			}
		}},
		{"an empty key is an error", func(t *testing.T, l ratelimit.Limiter) {
			if _, err := l.Take(t.Context(), "", ratelimit.Verify, t0); err == nil {
				t.Fatal("no error")
			}
		}},
		{"concurrent takes never admit more than the burst", func(t *testing.T, l ratelimit.Limiter) {
			k := Key(t)
			const n = 12
			var wg sync.WaitGroup
			var mu sync.Mutex
			allowed, errs := 0, 0
			for range n {
				wg.Go(func() {
					d, err := l.Take(context.Background(), k, ratelimit.Verify, t0)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						errs++
						t.Errorf("take: %v", err)
					case d.Allowed:
						allowed++
					}
				})
			}
			wg.Wait()
			if allowed != 3 || errs != 0 {
				t.Errorf("%d of %d concurrent takes allowed (%d errors), want exactly the burst, 3", allowed, n, errs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newLimiter(t, limits)) })
	}
}

// Key returns a fresh random key.
func Key(t testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "key_" + hex.EncodeToString(b[:])
}

func take(t *testing.T, l ratelimit.Limiter, key string, c ratelimit.Class, at time.Duration) ratelimit.Decision {
	t.Helper()
	d, err := l.Take(t.Context(), key, c, t0.Add(at))
	if err != nil {
		t.Fatalf("take %s at +%s: %v", c, at, err)
	}
	return d
}

func expect(t *testing.T, got, want ratelimit.Decision) {
	t.Helper()
	if got != want {
		t.Fatalf("decision %+v, want %+v", got, want)
	}
}
