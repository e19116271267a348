// Package reverify re-tests stored storage configs on a schedule, so that a
// bucket whose credentials are revoked, whose policy changes or that is
// deleted reads is_verified false within one interval, without anyone
// calling test/.
//
// Two halves, joined by the work queue:
//
//   - Scheduler.RunOnce (the reverify-scheduler function on an EventBridge
//     schedule; `bucketlink serve` every minute) finds the due configs
//     through the store's index, moves each one's next-due time forward
//     with a conditional write (store.Schedules.ClaimDue), and sends the
//     ones it claimed as queue.KindReverify messages naming the config
//     uid. Two runs at once enqueue a config once: the loser's claim fails.
//   - Reverifier.Handle (the worker) loads the config, opens its
//     credentials, runs the same checks as test/, stores the outcome and
//     the next-due time (storageconfig.Config.RecordVerification) with a
//     conditional update, appends the verification to the config's
//     history, and publishes a changeevents.Change when is_verified flips.
//     A config deleted while its message waited is a no-op.
//
// Both take their clock as a field, so tests move time.
package reverify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Defaults for zero Scheduler fields.
const (
	// DefaultBatch is how many due configs one DueConfigs call fetches
	// and one Send enqueues (the Sender splits it into SQS batches of
	// 10): store.MaxDueLimit. DynamoDB's DueConfigs reads up to a batch
	// from each of its index shards and keeps the most overdue batch, so
	// a run reads about as many index items as are due only while a batch
	// holds them all; smaller batches read more (BenchmarkSchedulerRun).
	DefaultBatch = store.MaxDueLimit
	// DefaultMaxPerRun bounds the configs one run enqueues; the rest
	// stay due for the next run.
	DefaultMaxPerRun = 10_000
	// DefaultClaimConcurrency is how many claims run at once.
	DefaultClaimConcurrency = 8
)

// ScheduleStore is the part of the store a Scheduler uses.
type ScheduleStore interface {
	DueConfigs(ctx context.Context, now time.Time, limit int) ([]*storageconfig.Config, error)
	ClaimDue(ctx context.Context, c *storageconfig.Config, expectedNext, newNext time.Time) error
}

// Scheduler enqueues the configs that are due for re-verification.
type Scheduler struct {
	Store  ScheduleStore
	Sender queue.Sender
	// Clock is the time; nil means storageconfig.Now.
	Clock func() time.Time
	// Batch, MaxPerRun and ClaimConcurrency default to DefaultBatch,
	// DefaultMaxPerRun and DefaultClaimConcurrency.
	Batch            int
	MaxPerRun        int
	ClaimConcurrency int
	// Logger receives one line per run; nil means slog.Default().
	Logger *slog.Logger
}

// claim is a config this run moved forward, with its old next-due time.
type claim struct {
	c        *storageconfig.Config
	old, new time.Time
}

// RunOnce enqueues every config due now (up to MaxPerRun), a batch at a
// time: DueConfigs, ClaimDue of each (a claim lost to another run is
// skipped), then one Send of the claimed ones. A claim whose message could
// not be sent is moved back, so that the next run tries again. It returns
// how many configs it enqueued; on an error, the ones enqueued before it
// stay enqueued.
func (s *Scheduler) RunOnce(ctx context.Context) (int, error) {
	start := time.Now()
	now := s.now()
	batch, maxRun := orDefault(s.Batch, DefaultBatch), orDefault(s.MaxPerRun, DefaultMaxPerRun)
	var enqueued, lost, rounds int
	var err error
	for enqueued < maxRun {
		rounds++
		limit := min(batch, maxRun-enqueued, store.MaxDueLimit)
		var due []*storageconfig.Config
		due, err = s.Store.DueConfigs(ctx, now, limit)
		if err != nil {
			err = fmt.Errorf("reverify schedule: %w", err)
			break
		}
		claims, lostHere, cerr := s.claimAll(ctx, now, due)
		lost += lostHere
		sent, serr := s.send(ctx, claims)
		enqueued += sent
		if err = errors.Join(cerr, serr); err != nil {
			err = fmt.Errorf("reverify schedule: %w", err)
			break
		}
		// A short batch is the last; a batch of lost claims means the
		// index still shows configs just claimed (it lags on DynamoDB):
		// they are not due any more, and asking again would loop.
		if len(due) < limit || len(claims) == 0 {
			break
		}
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "reverify schedule run",
		slog.Time("now", now), slog.Int("enqueued", enqueued), slog.Int("lost_claims", lost),
		slog.Int("rounds", rounds), slog.Duration("duration", time.Since(start)), errAttr(err))
	return enqueued, err
}

// claimAll claims the due configs, ClaimConcurrency at a time. It returns
// the claims won, how many were lost to another run (or to a delete), and
// the first other error.
func (s *Scheduler) claimAll(ctx context.Context, now time.Time, due []*storageconfig.Config) ([]claim, int, error) {
	var (
		mu     sync.Mutex
		claims []claim
		lost   int
		first  error
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, orDefault(s.ClaimConcurrency, DefaultClaimConcurrency))
	for _, c := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			old := c.NextReverifyAt
			next := storageconfig.NextDue(now, c.ReverifyInterval, c.ReverifyFailures)
			err := s.Store.ClaimDue(ctx, c, old, next)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				claims = append(claims, claim{c: c, old: old, new: next})
			case errors.Is(err, errcode.ErrConflict), errors.Is(err, errcode.ErrNotFound):
				lost++
			case first == nil:
				first = err
			}
		})
	}
	wg.Wait()
	return claims, lost, first
}

// send enqueues one message per claim and moves back the claims whose
// message was not sent. It returns how many were sent.
func (s *Scheduler) send(ctx context.Context, claims []claim) (int, error) {
	if len(claims) == 0 {
		return 0, nil
	}
	msgs := make([]queue.Message, len(claims))
	byUID := make(map[string]claim, len(claims))
	for i, cl := range claims {
		// Grouped by org, like the bucket-verify API's messages: one org's
		// many due configs do not hold up another's work.
		msgs[i] = queue.Message{Kind: queue.KindReverify, Key: cl.c.UID, Group: strconv.FormatInt(cl.c.OrgID, 10)}
		byUID[cl.c.UID] = cl
	}
	err := s.Sender.Send(ctx, msgs...)
	if err == nil {
		return len(msgs), nil
	}
	failed := msgs
	var se *queue.SendError
	if errors.As(err, &se) {
		failed = se.Failed
	}
	var unclaimErrs []error
	for _, m := range failed {
		cl := byUID[m.Key]
		// The run's own ctx may be what failed the send.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if uerr := s.Store.ClaimDue(uctx, cl.c, cl.new, cl.old); uerr != nil {
			unclaimErrs = append(unclaimErrs, fmt.Errorf("move back claim of %s: %w", cl.c.UID, uerr))
		}
		cancel()
	}
	return len(msgs) - len(failed), errors.Join(append([]error{fmt.Errorf("send %d reverify messages: %w", len(msgs), err)}, unclaimErrs...)...)
}

func (s *Scheduler) now() time.Time {
	if s.Clock != nil {
		return s.Clock().UTC().Truncate(time.Microsecond)
	}
	return storageconfig.Now()
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// errAttr is an "error" log attribute, or an empty one for nil.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}

// Run calls RunOnce every period until ctx is done: the in-process
// scheduler of `bucketlink serve` (on AWS, an EventBridge schedule invokes
// the scheduler function instead). The first run is one period after the
// start. A failed run is logged (by RunOnce) and the next one tries again.
func (s *Scheduler) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = s.RunOnce(ctx) // logged by RunOnce; the next tick retries
		}
	}
}
