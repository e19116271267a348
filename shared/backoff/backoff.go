// Package backoff computes the waits between retries: a capped exponential
// with jitter, and a sleep that ends with its ctx. It is the one backoff
// policy of the code that retries by hand; calls through an AWS SDK client
// retry with the SDK's retryer instead (see kmsseal and s3blob), which can
// take an Exponential as its BackoffDelayer.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jitter is how much of the exponential delay is randomised.
type Jitter int

const (
	// Full waits a uniform time in [0, d]: racing clients spread out most.
	Full Jitter = iota
	// Equal waits a uniform time in [d/2, d]: never much less than d.
	Equal
	// None waits exactly d: for schedules that must be predictable.
	None
)

// Exponential is a capped exponential backoff: before retry n (n >= 1) the
// delay d is Base·Factor^(n-1), at most Max, then Jitter is applied. The
// zero Factor means 2; a zero Max means no cap.
type Exponential struct {
	Base   time.Duration
	Max    time.Duration
	Factor float64
	Jitter Jitter
	// Rand returns a uniform int64 in [0, n); nil means math/rand/v2.
	// Tests inject a deterministic one.
	Rand func(n int64) int64
}

// uncapped bounds an Exponential without Max (about 146 years), so that
// the float arithmetic never overflows a Duration.
const uncapped = time.Duration(1 << 62)

// Ceiling returns the delay before retry n without jitter: the most Delay
// can return. n below 1 counts as 1.
func (e Exponential) Ceiling(n int) time.Duration {
	f := e.Factor
	if f <= 1 {
		f = 2
	}
	d := float64(max(e.Base, 0))
	limit := float64(e.Max)
	if e.Max <= 0 {
		limit = float64(uncapped)
	}
	for i := 1; i < n && d < limit; i++ {
		d *= f
	}
	return time.Duration(min(d, limit))
}

// Delay returns the wait before retry n (n >= 1), jittered.
func (e Exponential) Delay(n int) time.Duration {
	d := e.Ceiling(n)
	if d <= 0 {
		return 0
	}
	switch e.Jitter {
	case None:
		return d
	case Equal:
		half := d / 2
		return half + time.Duration(e.rand(int64(d-half)+1))
	default:
		return time.Duration(e.rand(int64(d) + 1))
	}
}

// BackoffDelay makes an Exponential an AWS SDK retry.BackoffDelayer: the
// SDK numbers the retries from 1, as Delay does.
func (e Exponential) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return e.Delay(attempt), nil
}

func (e Exponential) rand(n int64) int64 {
	if e.Rand != nil {
		return e.Rand(n)
	}
	return rand.Int64N(n)
}

// Sleep waits d or until ctx is done, whichever comes first, and returns
// ctx.Err() in the second case. A d of zero or less returns at once, with
// ctx's error if it is already done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
