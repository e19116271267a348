// Package metrics is what bucketlink counts and times, and the two ways it
// reports them under the same names: Prometheus's text format locally
// (Registry, served at GET /metrics) and CloudWatch's Embedded Metric
// Format on Lambda (EMF, one JSON log line per observation).
//
// Dimensions are small closed sets: a provider, an outcome, a check name
// and its stable code, a route class, a queue message kind. Nothing about
// one config, org or key is ever a dimension or a value: a metric per
// config would be a metric per customer (unbounded, and on CloudWatch a
// bill per customer).
package metrics

import (
	"time"
)

// The metric names, the same on both sinks.
const (
	// Verifications counts verifications that ran, by provider and
	// outcome (passed, failed). Dimensions: provider, outcome, kind
	// (config: create, test and re-verification; bucket: the
	// bucket-verify API).
	Verifications = "bucketlink_verifications_total"
	// CheckFailures counts failed checks, by provider, check and code.
	CheckFailures = "bucketlink_check_failures_total"
	// VerificationDuration is how long a verification took, in seconds
	// (Prometheus) or milliseconds (EMF's unit), by provider and outcome.
	VerificationDuration = "bucketlink_verification_duration_seconds"
	// RateLimited counts requests answered 429, by route class.
	RateLimited = "bucketlink_rate_limited_requests_total"
	// QueueAge is how long a message waited in the verify queue before a
	// worker took it, in seconds, by message kind.
	QueueAge = "bucketlink_queue_age_seconds"
)

// The outcomes of a verification.
const (
	OutcomePassed = "passed"
	OutcomeFailed = "failed"
)

// The kinds of verification.
const (
	KindConfig = "config"
	KindBucket = "bucket"
)

// Check is one failed check of a verification: its name (list, read,
// write, ...) and its stable code.
type Check struct {
	Name, Code string
}

// Verification is one verification that ran.
type Verification struct {
	// Provider is the config's provider (aws_s3, gc_storage, ...).
	Provider string
	// Kind is KindConfig or KindBucket.
	Kind string
	// Passed reports whether every check passed.
	Passed bool
	// Failed are the checks that failed.
	Failed []Check
	// Duration is the verification's wall time.
	Duration time.Duration
}

// Outcome is OutcomePassed or OutcomeFailed.
func (v Verification) Outcome() string {
	if v.Passed {
		return OutcomePassed
	}
	return OutcomeFailed
}

// Recorder receives the observations. Its methods must be safe for
// concurrent use and must not block.
type Recorder interface {
	Verification(v Verification)
	RateLimited(class string)
	QueueAge(kind string, age time.Duration)
}

// Nop records nothing.
type Nop struct{}

func (Nop) Verification(Verification)      {}
func (Nop) RateLimited(string)             {}
func (Nop) QueueAge(string, time.Duration) {}

// OrNop returns r, or Nop when r is nil.
func OrNop(r Recorder) Recorder {
	if r == nil {
		return Nop{}
	}
	return r
}

// maxLabelLen bounds a dimension value: they are closed sets of short
// names, and a longer one is a bug, not a reason to grow a metric.
const maxLabelLen = 64

// label returns v cut to maxLabelLen bytes ("" becomes "unknown").
func label(v string) string {
	if v == "" {
		return "unknown"
	}
	if len(v) > maxLabelLen {
		return v[:maxLabelLen]
	}
	return v
}
