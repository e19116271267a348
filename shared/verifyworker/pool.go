package verifyworker

import (
	"context"
	"log/slog"
	"time"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/store"
)

// RetryDelay returns a retry schedule for an in-process queue (memqueue)
// that delivers the messages of this worker: 250 ms, doubling, at most half
// of leaseTTL, so that a message refused with a *LeaseHeldError comes back
// soon after the lease of a dead run expires.
func RetryDelay(leaseTTL time.Duration) func(attempt int) time.Duration {
	if leaseTTL <= 0 {
		leaseTTL = DefaultLeaseTTL
	}
	schedule := backoff.Exponential{Base: 250 * time.Millisecond, Max: max(leaseTTL/2, 50*time.Millisecond), Jitter: backoff.None}
	return schedule.Ceiling
}

// MaxAttempts returns how many deliveries an in-process queue with
// RetryDelay(leaseTTL) should make so that retries cover deadline (a
// record's), plus two.
func MaxAttempts(leaseTTL, deadline time.Duration) int {
	delay := RetryDelay(leaseTTL)
	n, total := 1, time.Duration(0)
	for total < deadline && n < 1000 {
		total += delay(n)
		n++
	}
	return n + 2
}

// Sweep deletes expired verification records every interval until ctx is
// done: the local store's stand-in for DynamoDB's TTL. Failures are logged
// and retried at the next tick.
func Sweep(ctx context.Context, st store.Verifications, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := st.SweepVerifications(ctx, now.UTC())
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("verifyworker: sweep of expired verifications failed", slog.String("error", err.Error()))
			case n > 0:
				log.Info("verifyworker: swept expired verifications", slog.Int("deleted", n))
			}
		}
	}
}
