package storageconfig

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Re-verification: every stored config is re-tested on a schedule, so that
// a bucket whose credentials are revoked, whose policy changes or that is
// deleted reads is_verified false within one interval.
//
// A config's schedule is three fields: ReverifyInterval (0: off),
// NextReverifyAt (zero exactly when off) and ReverifyFailures. On the wire
// the interval is reverify_interval_seconds: a whole number of seconds from
// MinReverifyInterval to MaxReverifyInterval, or null for off. A create
// that leaves it out gets DefaultReverifyInterval.
const (
	// DefaultReverifyInterval is the interval of a config created without
	// reverify_interval_seconds: hourly, so a revoked credential shows
	// within the hour while a fleet of 100,000 configs costs about 28
	// checks a second.
	DefaultReverifyInterval = time.Hour
	// MinReverifyInterval and MaxReverifyInterval bound the interval.
	MinReverifyInterval = 15 * time.Minute
	MaxReverifyInterval = 7 * 24 * time.Hour
	// ReverifyRetryBase is the first delay after a failed verification:
	// the scheduler's default period. Each further failure in a row
	// doubles it, up to the config's interval (see NextDue).
	ReverifyRetryBase = 5 * time.Minute
)

// fieldReverifyInterval is the wire name of ReverifyInterval.
const fieldReverifyInterval = "reverify_interval_seconds"

const reverifyRangeMsg = "Enter a whole number of seconds from 900 (15 minutes) to 604800 (7 days), or null to switch re-verification off."

// checkReverifyInterval reads reverify_interval_seconds of a create: absent
// is DefaultReverifyInterval, null is off (0).
func checkReverifyInterval(errs errcode.FieldErrors, in contract.Input) time.Duration {
	switch {
	case in.Null[fieldReverifyInterval]:
		return 0
	case !in.Has(fieldReverifyInterval):
		if _, bad := errs[fieldReverifyInterval]; bad {
			return 0 // not an integer: reported by decodeObject
		}
		return DefaultReverifyInterval
	}
	return parseInterval(errs, in.Num[fieldReverifyInterval])
}

// parseInterval checks a given number of seconds against the range.
func parseInterval(errs errcode.FieldErrors, secs int64) time.Duration {
	min, max := int64(MinReverifyInterval/time.Second), int64(MaxReverifyInterval/time.Second)
	if secs < min || secs > max {
		errs.Add(fieldReverifyInterval, "%s", reverifyRangeMsg)
		return 0
	}
	return time.Duration(secs) * time.Second
}

// NextDue returns when a config should next be re-tested, given the time
// of its last verification (now), its interval and how many verifications
// have failed in a row:
//
//   - interval <= 0 (off): the zero time, never;
//   - no failure: now + interval;
//   - n failures: now + ReverifyRetryBase·2^(n-1), but never later than
//     now + interval.
//
// A broken bucket is thus retried soon (a failure may be a blip), then
// less and less often, and never less often than a healthy one: its
// status stays at most one interval old, without hammering it every
// scheduler run.
func NextDue(now time.Time, interval time.Duration, failures int) time.Time {
	if interval <= 0 {
		return time.Time{}
	}
	if failures <= 0 {
		return now.Add(interval)
	}
	d := ReverifyRetryBase
	for i := 1; i < failures && d < interval; i++ {
		d *= 2
	}
	return now.Add(min(d, interval))
}

// Reverifies reports whether c is re-tested on a schedule: its interval is
// set and it has a next-due time.
func (c *Config) Reverifies() bool { return c.ReverifyInterval > 0 && !c.NextReverifyAt.IsZero() }

// RecordVerification applies the outcome of a verification that ended at
// now, whatever triggered it: IsVerified, LastVerifiedAt and UpdatedAt, the
// failure count, and the next-due time (NextDue). It reports whether
// IsVerified changed.
func (c *Config) RecordVerification(now time.Time, ok bool) (changed bool) {
	changed = c.IsVerified != ok
	c.IsVerified, c.LastVerifiedAt, c.UpdatedAt = ok, now, now
	if ok {
		c.ReverifyFailures = 0
	} else {
		c.ReverifyFailures++
	}
	c.NextReverifyAt = NextDue(now, c.ReverifyInterval, c.ReverifyFailures)
	return changed
}

// SetReverifyInterval changes the interval at now and reschedules: off
// clears the next-due time; on, the next test is due one interval (or
// backoff) after the last verification, or after now if there was none.
// A next-due time in the past makes the config due at once.
func (c *Config) SetReverifyInterval(d time.Duration, now time.Time) {
	c.ReverifyInterval = d
	from := c.LastVerifiedAt
	if from.IsZero() {
		from = now
	}
	c.NextReverifyAt = NextDue(from, d, c.ReverifyFailures)
}
