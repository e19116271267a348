package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/ratelimit/ratelimittest"
)

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, l ratelimit.Limits) ratelimit.Limiter {
		m, err := ratelimit.NewMemory(l)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// TestMemoryDropsFullBuckets fills the map past its first sweep with keys
// used once: the sweep keeps only the buckets not yet full again.
func TestMemoryDropsFullBuckets(t *testing.T) {
	m, err := ratelimit.NewMemory(ratelimit.Limits{Read: ratelimit.Rate{Count: 60, Per: time.Minute, Burst: 10}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		// A key a millisecond; each bucket is full again a second after
		// its only request.
		at := now.Add(time.Duration(i) * time.Millisecond)
		if _, err := m.Take(t.Context(), fmt.Sprint("key-", i), ratelimit.Read, at); err != nil {
			t.Fatal(err)
		}
	}
	// At most the last second's 1,000 keys survive a sweep, and a sweep
	// runs whenever the map doubles: never more than about 2,000 plus
	// what came in since.
	if n := m.Len(); n > 2100 {
		t.Errorf("%d buckets held after 5,000 keys, at most ~1,000 of them not yet full", n)
	}
	if d, _ := m.Take(t.Context(), "key-4999", ratelimit.Read, now.Add(5*time.Second)); !d.Allowed || d.Remaining != 8 {
		t.Errorf("a kept bucket lost its state: %+v, want 8 remaining", d)
	}
}

func TestAdmit(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r := ratelimit.Rate{Count: 3, Per: time.Second, Burst: 1} // 333,333 µs a token
	d, tat := r.Admit(time.Time{}, now)
	if !d.Allowed || d.Remaining != 0 || tat.Sub(now) != 333333*time.Microsecond {
		t.Fatalf("first: %+v, tat +%s", d, tat.Sub(now))
	}
	if d, same := r.Admit(tat, now); d.Allowed || !same.Equal(tat) || d.RetryAfter != 333333*time.Microsecond {
		t.Fatalf("second at once: %+v, tat changed %v", d, !same.Equal(tat))
	}
	if d, _ := r.Admit(tat, tat); !d.Allowed {
		t.Fatalf("at the TAT: %+v", d)
	}
	if d, _ := (ratelimit.Rate{}).Admit(time.Time{}, now); d != ratelimit.Unlimited {
		t.Fatalf("off: %+v", d)
	}
	// A bucket whose rate was lowered since its TAT was set (another
	// instance's settings): refused, never a negative count.
	low := ratelimit.Rate{Count: 1, Per: time.Minute, Burst: 2}
	if d, _ := low.Admit(now.Add(time.Hour), now); d.Allowed || d.Remaining != 0 || d.RetryAfter != time.Hour-time.Minute {
		t.Fatalf("far TAT: %+v", d)
	}
	if d := low.AdmittedAt(now.Add(time.Hour), now); d.Remaining != 0 || d.Reset != time.Hour {
		t.Fatalf("AdmittedAt a far TAT: %+v", d)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ratelimit.Rate
		ok   bool
	}{
		{"per minute with burst", "120/min,burst=60", ratelimit.Rate{Count: 120, Per: time.Minute, Burst: 60}, true},
		{"burst defaults to the count", "10/s", ratelimit.Rate{Count: 10, Per: time.Second, Burst: 10}, true},
		{"spaces", " 5 / hour , burst=2 ", ratelimit.Rate{Count: 5, Per: time.Hour, Burst: 2}, true},
		{"a duration", "100/10s,burst=5", ratelimit.Rate{Count: 100, Per: 10 * time.Second, Burst: 5}, true},
		{"m is a minute", "60/m", ratelimit.Rate{Count: 60, Per: time.Minute, Burst: 60}, true},
		{"off", "off", ratelimit.Rate{}, true},
		{"empty", "", ratelimit.Rate{}, false},
		{"no period", "120", ratelimit.Rate{}, false},
		{"zero count", "0/min", ratelimit.Rate{}, false},
		{"negative burst", "1/min,burst=-1", ratelimit.Rate{}, false},
		{"zero burst", "1/min,burst=0", ratelimit.Rate{}, false},
		{"bad burst key", "1/min,max=3", ratelimit.Rate{}, false},
		{"bad unit", "1/fortnight", ratelimit.Rate{}, false},
		{"period under a second", "1/500ms", ratelimit.Rate{}, false},
		{"period over a day", "1/48h", ratelimit.Rate{}, false},
		{"count too large", "2000000/s", ratelimit.Rate{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ratelimit.ParseRate(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if !tt.ok {
				return
			}
			if back, err := ratelimit.ParseRate(got.String()); err != nil || back != got {
				t.Errorf("ParseRate(%q) = %+v, %v; want %+v", got.String(), back, err, got)
			}
			var flagValue ratelimit.Rate
			if err := flagValue.Set(tt.in); err != nil || flagValue != got {
				t.Errorf("Set(%q) = %+v, %v", tt.in, flagValue, err)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	if err := ratelimit.DefaultLimits.Validate(); err != nil {
		t.Fatal(err)
	}
	// A UI polling every second never sees a refusal on any class.
	for _, c := range ratelimit.Classes {
		m, err := ratelimit.NewMemory(ratelimit.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 3600 {
			if d, _ := m.Take(t.Context(), "ui", c, now.Add(time.Duration(i)*time.Second)); !d.Allowed || d.Remaining < d.Limit-2 {
				t.Fatalf("%s: request %d of a poll a second: %+v", c, i, d)
			}
		}
	}
	if got := ratelimit.DefaultLimits.String(); got != "verify=120/min,burst=60 write=60/min,burst=30 read=600/min,burst=120" {
		t.Errorf("String() = %q", got)
	}
}
