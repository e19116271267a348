package service

import (
	"context"
	"time"

	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// verifier returns p.Verifier, timed and counted into p.Metrics when it
// is set; nil when p has no verifier. Every verification (create, test,
// re-verification, bucket verify) passes here, so it is counted once, in
// one place.
func (p Parts) verifier() Verifier {
	if p.Verifier == nil || p.Metrics == nil {
		return p.Verifier
	}
	return meteredVerifier{v: p.Verifier, m: p.Metrics}
}

// meteredVerifier records each verification of v into m.
type meteredVerifier struct {
	v Verifier
	m metrics.Recorder
}

func (mv meteredVerifier) Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.Result {
	start := time.Now()
	r := mv.v.Verify(ctx, c, creds)
	mv.m.Verification(observation(c, metrics.KindConfig, r, time.Since(start)))
	return r
}

func (mv meteredVerifier) VerifyBucket(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	start := time.Now()
	r := mv.v.VerifyBucket(ctx, c, creds)
	mv.m.Verification(observation(c, metrics.KindBucket, r.Result, time.Since(start)))
	return r
}

// observation is what metrics keeps of a verification: the provider, the
// outcome and the failed checks' names and codes; nothing of the config.
func observation(c *storageconfig.Config, kind string, r verify.Result, d time.Duration) metrics.Verification {
	v := metrics.Verification{Provider: string(c.Provider), Kind: kind, Passed: r.Verified(), Duration: d}
	for _, ch := range r.Checks {
		if !ch.OK && ch.Code != verify.CodeSkipped {
			v.Failed = append(v.Failed, metrics.Check{Name: ch.Name, Code: ch.Code})
		}
	}
	return v
}

// timeQueue records, before h handles a message, how long it waited in
// the queue (when the consumer knows when it was sent).
func (p Parts) timeQueue(kind queue.Kind, h queue.Handler) queue.Handler {
	if p.Metrics == nil {
		return h
	}
	return func(ctx context.Context, m queue.Message) error {
		if !m.SentAt.IsZero() {
			p.Metrics.QueueAge(string(kind), time.Since(m.SentAt))
		}
		return h(ctx, m)
	}
}
