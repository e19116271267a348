package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/backoff"
)

// top returns the largest value a Rand may return: Delay at its maximum.
func top(n int64) int64 { return n - 1 }

// bottom returns 0: Delay at its minimum.
func bottom(int64) int64 { return 0 }

func TestCeiling(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		e    backoff.Exponential
		want []time.Duration // for n = 1, 2, ...
	}{
		{"doubles to the cap", backoff.Exponential{Base: 100 * ms, Max: time.Second}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"no cap", backoff.Exponential{Base: 10 * ms}, []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms}},
		{"factor 3", backoff.Exponential{Base: ms, Max: 20 * ms, Factor: 3}, []time.Duration{ms, 3 * ms, 9 * ms, 20 * ms}},
		{"cap below base", backoff.Exponential{Base: 50 * ms, Max: 10 * ms}, []time.Duration{10 * ms, 10 * ms}},
		{"zero base", backoff.Exponential{}, []time.Duration{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				if got := tc.e.Ceiling(i + 1); got != want {
					t.Errorf("Ceiling(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
	if got := (backoff.Exponential{Base: time.Hour}).Ceiling(200); got <= 0 {
		t.Errorf("uncapped Ceiling(200) = %v, want no overflow", got)
	}
}

func TestDelayJitter(t *testing.T) {
	ms := time.Millisecond
	base := backoff.Exponential{Base: 100 * ms, Max: time.Second}
	tests := []struct {
		name     string
		jitter   backoff.Jitter
		n        int
		min, max time.Duration
	}{
		{"full", backoff.Full, 3, 0, 400 * ms},
		{"equal", backoff.Equal, 3, 200 * ms, 400 * ms},
		{"none", backoff.None, 3, 400 * ms, 400 * ms},
		{"full capped", backoff.Full, 10, 0, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			e.Jitter = tc.jitter
			e.Rand = bottom
			if got := e.Delay(tc.n); got != tc.min {
				t.Errorf("lowest Delay(%d) = %v, want %v", tc.n, got, tc.min)
			}
			e.Rand = top
			if got := e.Delay(tc.n); got != tc.max {
				t.Errorf("highest Delay(%d) = %v, want %v", tc.n, got, tc.max)
			}
			e.Rand = nil
			for range 100 {
				if got := e.Delay(tc.n); got < tc.min || got > tc.max {
					t.Fatalf("Delay(%d) = %v, want in [%v, %v]", tc.n, got, tc.min, tc.max)
				}
			}
		})
	}
}

func TestBackoffDelayIsDelay(t *testing.T) {
	e := backoff.Exponential{Base: time.Millisecond, Jitter: backoff.None}
	if d, err := e.BackoffDelay(4, errors.New("x")); d != 8*time.Millisecond || err != nil {
		t.Errorf("BackoffDelay(4) = %v, %v; want 8ms, nil", d, err)
	}
}

func TestSleep(t *testing.T) {
	if err := backoff.Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := backoff.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := backoff.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) on a cancelled ctx = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Error("Sleep did not end with its ctx")
	}
}

func ExampleExponential() {
	e := backoff.Exponential{Base: 100 * time.Millisecond, Max: time.Second, Jitter: backoff.None}
	for n := 1; n <= 5; n++ {
		fmt.Println(e.Delay(n))
	}
	// Output:
	// 100ms
	// 200ms
	// 400ms
	// 800ms
	// 1s
}
