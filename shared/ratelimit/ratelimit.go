// Package ratelimit limits the requests of each API key with a token
// bucket per route class. A bucket holds up to Rate.Burst tokens and
// refills at Rate.Count tokens per Rate.Per; a request takes one token or,
// when none is left, is refused with the time until the next one.
//
// The bucket is kept as the generic cell rate algorithm (GCRA) keeps it:
// one time per bucket, its theoretical arrival time (TAT), the instant at
// which it is full again. A bucket that was never used, or whose TAT has
// passed, is full; so an idle bucket needs no state at all, and its item
// or entry can be dropped. Rate.Admit is that arithmetic, exact to the
// microsecond; every Limiter applies it to its own storage:
//
//   - Memory keeps the TATs of one process in a map, dropping those that
//     have passed (bounded memory: only buckets used within the last
//     Burst/rate are held);
//   - package dynamolimit keeps them in the DynamoDB table, one item per
//     key and class, with one conditional UpdateItem per request.
//
// Package ratelimittest is the conformance suite both pass.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Class is a route class: the requests that share one bucket of a key.
type Class string

// The route classes of the two APIs.
const (
	// Verify: both bucket-verify routes (starts and polls alike).
	Verify Class = "verify"
	// Write: create, test/, PATCH and DELETE of storage configs; create
	// and test/ each run a live verification against the user's endpoint.
	Write Class = "write"
	// Read: list, get, setup-info and a config's verifications.
	Read Class = "read"
)

// Classes are every Class, in a fixed order.
var Classes = []Class{Verify, Write, Read}

// Rate is the bucket of one class: Burst tokens at most, refilled at Count
// per Per. The zero Rate is "not limited".
type Rate struct {
	Count int
	Per   time.Duration
	Burst int
}

// Bounds of a Rate, which keep its arithmetic far from overflowing.
const (
	MaxCount = 1_000_000
	MaxBurst = 1_000_000
	MinPer   = time.Second
	MaxPer   = 24 * time.Hour
)

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r == Rate{} }

// Validate reports what is wrong with r, if anything. The zero Rate is valid.
func (r Rate) Validate() error {
	switch {
	case r.Off():
		return nil
	case r.Count < 1 || r.Count > MaxCount:
		return fmt.Errorf("count %d: must be 1 to %d", r.Count, MaxCount)
	case r.Per < MinPer || r.Per > MaxPer:
		return fmt.Errorf("period %s: must be %s to %s", r.Per, MinPer, MaxPer)
	case r.Burst < 1 || r.Burst > MaxBurst:
		return fmt.Errorf("burst %d: must be 1 to %d", r.Burst, MaxBurst)
	}
	return nil
}

// Interval is how long the bucket takes to gain one token, to the
// microsecond (rounded down: at most a microsecond per token faster).
func (r Rate) Interval() time.Duration {
	if r.Count == 0 {
		return 0
	}
	return (r.Per / time.Duration(r.Count)).Truncate(time.Microsecond)
}

// String writes r as ParseRate reads it: "120/min,burst=60", or "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	per := r.Per.String()
	switch r.Per {
	case time.Second:
		per = "s"
	case time.Minute:
		per = "min"
	case time.Hour:
		per = "h"
	}
	return fmt.Sprintf("%d/%s,burst=%d", r.Count, per, r.Burst)
}

// ParseRate reads a rate: "off" (not limited), or COUNT/PERIOD with an
// optional ",burst=N", such as "120/min,burst=60". PERIOD is s, sec,
// second, m, min, minute, h, hour or a Go duration ("10s"); the burst
// defaults to COUNT.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rate{}, nil
	}
	spec, burst, hasBurst := strings.Cut(s, ",")
	count, period, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want COUNT/PERIOD[,burst=N], e.g. 120/min,burst=60, or off", s)
	}
	var r Rate
	var err error
	if r.Count, err = strconv.Atoi(strings.TrimSpace(count)); err != nil {
		return Rate{}, fmt.Errorf("rate %q: count %q is not an integer", s, count)
	}
	switch p := strings.TrimSpace(period); p {
	case "s", "sec", "second":
		r.Per = time.Second
	case "m", "min", "minute":
		r.Per = time.Minute
	case "h", "hour":
		r.Per = time.Hour
	default:
		if r.Per, err = time.ParseDuration(p); err != nil {
			return Rate{}, fmt.Errorf("rate %q: period %q is neither s, min, h nor a duration", s, p)
		}
	}
	r.Burst = r.Count
	if hasBurst {
		n, ok := strings.CutPrefix(strings.TrimSpace(burst), "burst=")
		if !ok {
			return Rate{}, fmt.Errorf("rate %q: want burst=N after the comma", s)
		}
		if r.Burst, err = strconv.Atoi(n); err != nil {
			return Rate{}, fmt.Errorf("rate %q: burst %q is not an integer", s, n)
		}
	}
	if err := r.Validate(); err != nil {
		return Rate{}, fmt.Errorf("rate %q: %w", s, err)
	}
	return r, nil
}

// Set parses s into r (ParseRate), so that a *Rate is a flag.Value.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Limits are the rates of the classes; a class whose Rate is zero is not
// limited.
type Limits struct {
	Verify, Write, Read Rate
}

// DefaultLimits are the limits of `bucketlink serve` and of the Lambda
// functions unless the operator sets others. A UI polling a verification
// and a config page every second uses a third to a half of them:
//
//   - verify 120/min, burst 60: polling once a second uses half the rate,
//     and a client may start 60 verifications at once;
//   - write 60/min, burst 30: each create and test/ runs a verification
//     against the user's endpoint (up to the verification deadline); a
//     person clicks a few times a minute, a script creating configs one
//     after another stays under one a second;
//   - read 600/min, burst 120: a page polling list, get and verifications
//     every second makes 3 a second of the 10 allowed.
var DefaultLimits = Limits{
	Verify: Rate{Count: 120, Per: time.Minute, Burst: 60},
	Write:  Rate{Count: 60, Per: time.Minute, Burst: 30},
	Read:   Rate{Count: 600, Per: time.Minute, Burst: 120},
}

// Of returns the Rate of class c (zero for an unknown class).
func (l Limits) Of(c Class) Rate {
	switch c {
	case Verify:
		return l.Verify
	case Write:
		return l.Write
	case Read:
		return l.Read
	}
	return Rate{}
}

// Validate reports every invalid rate of l, by class.
func (l Limits) Validate() error {
	var errs []error
	for _, c := range Classes {
		if err := l.Of(c).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// String lists the rates: "verify=120/min,burst=60 write=... read=...".
func (l Limits) String() string {
	parts := make([]string, len(Classes))
	for i, c := range Classes {
		parts[i] = string(c) + "=" + l.Of(c).String()
	}
	return strings.Join(parts, " ")
}

// Decision is a Limiter's answer to one request.
type Decision struct {
	// Allowed: the request took a token. When false it took none.
	Allowed bool
	// Limit is the bucket's capacity (Rate.Burst): how many requests a
	// full bucket admits at once. It is 0 when the class is not limited;
	// the request is then allowed, and the other fields mean nothing.
	Limit int
	// Remaining is how many more requests the bucket admits now.
	Remaining int
	// Reset is how long until the bucket is full again (Limit requests
	// available); 0 when it is full.
	Reset time.Duration
	// RetryAfter, when the request was refused, is how long until the
	// bucket holds a token again; 0 when it was allowed.
	RetryAfter time.Duration
}

// Unlimited is the Decision on a class that is not limited.
var Unlimited = Decision{Allowed: true}

// Limiter takes one token for a request.
//
// Take takes a token from the bucket of (key, class) at now, or refuses the
// request when the bucket is empty; a refused request takes nothing. key
// identifies the caller (bucketlink passes the API key's id, never the key
// itself) and must not be empty. A class not limited answers Unlimited.
// An error means the limiter could not decide (its storage failed); the
// caller chooses what to do, and bucketlink lets the request through.
// Take is safe for concurrent use, and concurrent Takes on one bucket
// never admit more than it holds.
type Limiter interface {
	Take(ctx context.Context, key string, class Class, now time.Time) (Decision, error)
}

// ErrNoKey is Take's error for an empty key.
var ErrNoKey = errors.New("ratelimit: empty key")

// Admit applies the bucket of r to one request at now, given the
// bucket's TAT (the time it is full again; the zero time, or any time not
// after now, for a full bucket). It returns the decision and the TAT after
// the request: tat itself when the request is refused.
//
// With T = Interval() and τ = (Burst-1)·T, a request is admitted when
// max(tat, now) - now <= τ, and then the TAT becomes max(tat, now) + T.
func (r Rate) Admit(tat, now time.Time) (Decision, time.Time) {
	if r.Off() {
		return Unlimited, tat
	}
	t := r.Interval().Microseconds()
	if t < 1 {
		t = 1
	}
	tau := int64(r.Burst-1) * t
	nowUS := now.UnixMicro()
	base := nowUS
	if !tat.IsZero() && tat.UnixMicro() > nowUS {
		base = tat.UnixMicro()
	}
	if base-nowUS > tau {
		return Decision{
			Limit:      r.Burst,
			Reset:      time.Duration(base-nowUS) * time.Microsecond,
			RetryAfter: time.Duration(base-tau-nowUS) * time.Microsecond,
		}, tat
	}
	next := base + t
	return r.after(next, nowUS, t), time.UnixMicro(next).UTC()
}

// AdmittedAt is the Decision on an admitted request after which the
// bucket's TAT is next: what a Limiter that learns the new TAT from its
// storage answers.
func (r Rate) AdmittedAt(next, now time.Time) Decision {
	t := r.Interval().Microseconds()
	if t < 1 {
		t = 1
	}
	return r.after(next.UnixMicro(), now.UnixMicro(), t)
}

func (r Rate) after(next, now, t int64) Decision {
	remaining := (now + int64(r.Burst)*t - next) / t
	remaining = max(0, min(remaining, int64(r.Burst)))
	return Decision{
		Allowed:   true,
		Limit:     r.Burst,
		Remaining: int(remaining),
		Reset:     time.Duration(max(0, next-now)) * time.Microsecond,
	}
}
