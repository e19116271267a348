// Package verifyworker runs asynchronous bucket verifications: it is the
// queue.Handler behind the bucket-verify API. A message names a
// verification record (verification.Record) by its key; the worker takes the
// record's lease with a conditional write, opens the credentials, runs
// the checks (verify.Verifier.VerifyBucket) within the record's deadline,
// and writes the outcome with another conditional write.
//
// Delivery is at least once, so Handle is idempotent:
//
//   - a message for a record that is final, missing or expired is a no-op;
//   - a message for a record whose lease another worker holds fails with a
//     *LeaseHeldError, so that the queue delivers it again later: if that
//     worker died, its lease has expired by then and this delivery takes
//     the work over (a new attempt);
//   - a worker whose lease was taken over meanwhile loses the race of the
//     final write (errcode.ErrConflict) and drops its result;
//   - a record past its deadline is written as timed out by whichever
//     worker sees it.
//
// The same package serves `bucketlink serve` (an in-process memqueue pool)
// and the verify-worker Lambda function (sqsqueue.BatchHandler).
package verifyworker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// DefaultLeaseTTL is how long a worker's lease on a record lasts: longer
// than one verification (verify.DefaultDeadline, 15 s) and well below a
// record's deadline (verification.DefaultRecordDeadline, 60 s), so that the work
// of a worker that died can be taken over in time.
const DefaultLeaseTTL = 20 * time.Second

// leaseMargin is how long before its lease ends a run is stopped, so that
// its result is written while the lease is still this worker's.
const leaseMargin = time.Second

// BucketVerifier runs the checks of the bucket-verify API
// (*verify.Verifier).
type BucketVerifier interface {
	VerifyBucket(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult
}

// Store is what the worker reads and writes: the records, and the stored
// configs whose credentials a request borrows (bucketId).
type Store interface {
	store.Verifications
	GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error)
	// AppendVerification records, in a stored config's history, a
	// bucket-verify run made with that config's own credentials.
	AppendVerification(ctx context.Context, orgID int64, uid string, v store.VerificationEntry) error
	// ReleaseVerificationSlot gives back the org's slot of a verification
	// that reached its final state (store.VerificationSlots).
	ReleaseVerificationSlot(ctx context.Context, orgID int64, key string) error
}

// Worker handles verification messages. Store, Sealer and Verifier are
// required; the rest have defaults. Do not copy a Worker after first use.
type Worker struct {
	Store    Store
	Sealer   seal.Sealer
	Verifier BucketVerifier
	// LeaseTTL is the lease a run takes (default DefaultLeaseTTL). A run
	// stops a second before its lease ends, whatever the record's deadline.
	LeaseTTL time.Duration
	// Owner names this worker in leases; default a random id.
	Owner string
	// Logger receives one line per run, never a secret; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	once  sync.Once
	owner string
}

// LeaseHeldError is returned by Handle for a record whose lease another
// run holds: the message should be delivered again after Until.
type LeaseHeldError struct {
	Key   string
	Until time.Time
}

// Error names the record and when its lease ends.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("verification %s is leased until %s; deliver again later", e.Key, e.Until.Format(time.RFC3339Nano))
}

// Unwrap returns verification.ErrLeaseHeld.
func (e *LeaseHeldError) Unwrap() error { return verification.ErrLeaseHeld }

// maxConflicts bounds the re-reads after losing a conditional write to
// another writer before Handle gives up and lets the queue retry.
const maxConflicts = 3

// Handle implements queue.Handler for queue.KindVerify messages, whose Key
// is a record key. It returns nil when the message is dealt with for good
// (the outcome is in the record, or there is nothing to do), and an error
// when it should be delivered again: a store or sealer failure, a
// *LeaseHeldError, or ctx ending mid-run (the run's lease then expires and
// a later delivery takes the work over). Messages of other kinds are
// logged and dropped.
func (w *Worker) Handle(ctx context.Context, m queue.Message) error {
	log := w.logger().With(slog.String("verification", m.Key), slog.Int("delivery", m.Attempt))
	if m.Kind != queue.KindVerify {
		log.Warn("verifyworker: dropping a message of another kind", slog.String("kind", string(m.Kind)))
		return nil
	}
	for range maxConflicts {
		rec, err := w.Store.GetVerification(ctx, m.Key)
		switch {
		case errors.Is(err, errcode.ErrNotFound):
			log.Info("verifyworker: no such verification (expired or never started)")
			return nil
		case err != nil:
			return fmt.Errorf("verifyworker: read verification %s: %w", m.Key, err)
		case rec.State.Final():
			log.Debug("verifyworker: verification already final", slog.String("state", string(rec.State)))
			return nil
		}
		now := w.now()
		if !now.Before(rec.Deadline) {
			err = w.timeOut(ctx, log, rec, now)
		} else {
			var leased bool
			leased, err = w.lease(ctx, rec, now)
			if leased {
				return w.run(ctx, log, rec)
			}
		}
		if !errors.Is(err, errcode.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("verifyworker: verification %s: lost %d conditional writes in a row", m.Key, maxConflicts)
}

// lease takes the lease of rec and stores it, and reports whether it did.
// ErrConflict means another writer came first; a record that is gone or
// final needs nothing.
func (w *Worker) lease(ctx context.Context, rec *verification.Record, now time.Time) (bool, error) {
	err := rec.AcquireLease(w.ownerID(), now, w.leaseTTL())
	switch {
	case errors.Is(err, verification.ErrLeaseHeld):
		return false, &LeaseHeldError{Key: rec.Key, Until: rec.Lease.Until}
	case errors.Is(err, verification.ErrPastDeadline):
		// The deadline passed since Handle looked: read again and write
		// the time-out.
		return false, fmt.Errorf("verifyworker: %w: %w", errcode.ErrConflict, err)
	case errors.Is(err, verification.ErrFinal):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("verifyworker: %w", err)
	}
	switch err := w.Store.UpdateVerification(ctx, rec); {
	case errors.Is(err, errcode.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("verifyworker: lease verification %s: %w", rec.Key, err)
	}
	return true, nil
}

// timeOut writes rec, past its deadline, as timed out.
func (w *Worker) timeOut(ctx context.Context, log *slog.Logger, rec *verification.Record, now time.Time) error {
	if err := rec.TimeOut(now); err != nil {
		return nil // final meanwhile
	}
	if err := w.Store.UpdateVerification(ctx, rec); err != nil {
		if errors.Is(err, errcode.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("verifyworker: time out verification %s: %w", rec.Key, err)
	}
	log.Info("verifyworker: verification timed out", slog.Int("attempts", rec.Attempts))
	w.releaseSlot(ctx, log, rec)
	return nil
}

// run verifies the bucket of rec, whose lease this worker has just
// stored, and writes the outcome.
func (w *Worker) run(ctx context.Context, log *slog.Logger, rec *verification.Record) error {
	log = log.With(slog.Int("attempt", rec.Attempts))
	// A run on a stored config's own credentials (bucketId, no secretKey)
	// belongs in that config's history, unless an admin took them beyond
	// the config: that run is not of the config as it is.
	cfg, creds, ofStoredConfig, err := w.target(ctx, rec)
	var fail *failure
	switch {
	case errors.As(err, &fail):
		written, err := w.finish(ctx, log, rec, func(now time.Time) error { return rec.Fail(now, fail.msg, nil) })
		if written {
			w.releaseSlot(ctx, log, rec)
		}
		return err
	case err != nil:
		return err
	}
	end := rec.Deadline
	if until := rec.Lease.Until.Add(-leaseMargin); until.Before(end) {
		end = until
	}
	runCtx, cancel := context.WithDeadline(ctx, end)
	start := time.Now()
	res := w.Verifier.VerifyBucket(runCtx, cfg, creds)
	cancel()
	if err := ctx.Err(); err != nil {
		// Stopped from outside: write nothing; the lease expires and a
		// later delivery runs it again.
		return fmt.Errorf("verifyworker: verification %s stopped mid-run: %w", rec.Key, err)
	}
	codes := make([]string, 0, len(res.Checks))
	for _, c := range res.Checks {
		codes = append(codes, c.Name+"="+c.Code)
	}
	log = log.With(slog.String("provider", string(cfg.Provider)), slog.Bool("verified", res.Verified()),
		slog.Any("checks", codes), slog.Duration("duration", time.Since(start)))
	if res.SignedURL != "" && !strings.HasPrefix(res.SignedURLKey, cfg.Prefix()) {
		// Never hand out a URL outside the prefix the run may use.
		log.Error("verifyworker: the signed URL is outside the verified prefix; dropped")
		res.SignedURL = ""
	}
	written, err := w.finish(ctx, log, rec, func(now time.Time) error {
		if res.Verified() {
			return rec.Complete(now, verification.RecordResult{
				Files: res.Files, HasInfoLabelsFile: res.HasInfoLabelsFile,
				SignedURL: res.SignedURL, SignedURLUnavailable: res.SignedURLUnavailable, Endpoint: res.Endpoint,
				CORS: res.CORS,
			}, res.Checks)
		}
		return rec.Fail(now, bucketverify.ConnectionError(res.Errors), res.Checks)
	})
	if written && ofStoredConfig {
		entry := store.NewVerificationEntry(rec.StatusSince, store.TriggerVerify, res.Result.Verified(), res.Result.Checks)
		if err := w.Store.AppendVerification(ctx, rec.OrgID, rec.Request.BucketID, entry); err != nil {
			log.Warn("verifyworker: append to the config's history", slog.String("error", err.Error()))
		}
	}
	if written {
		// Last: the org's next verification may start once this one
		// is in the record and the history.
		w.releaseSlot(ctx, log, rec)
	}
	return err
}

// finish applies a final transition to rec (TimeOut instead, when the
// deadline has passed) and writes it, conditional on the version of the
// lease write. Losing that race means another worker took the lease over:
// its result stands and this one is dropped.
func (w *Worker) finish(ctx context.Context, log *slog.Logger, rec *verification.Record, transition func(time.Time) error) (written bool, err error) {
	now := w.now()
	err = transition(now)
	if errors.Is(err, verification.ErrPastDeadline) {
		err = rec.TimeOut(now)
	}
	if err != nil {
		return false, nil // final already: nothing to write
	}
	switch err := w.Store.UpdateVerification(ctx, rec); {
	case errors.Is(err, errcode.ErrConflict), errors.Is(err, errcode.ErrNotFound):
		log.Warn("verifyworker: result dropped: the lease was taken over, or the record expired")
		return false, nil
	case err != nil:
		return false, fmt.Errorf("verifyworker: write the result of verification %s: %w", rec.Key, err)
	}
	log.Info("verifyworker: verification finished", slog.String("state", string(rec.State)))
	return true, nil
}

// failure is a problem that no retry can fix: the record fails with msg.
type failure struct{ msg string }

func (f *failure) Error() string { return "verifyworker: " + f.msg }

// target returns the config and credentials rec verifies: the request's
// credentials sealed in the record, or the credentials of the stored
// config that Request.BucketID names, taken no further than the config as
// stored unless the record's sealed Grant lets them (a role that may edit
// the config started it; see bucketverify.StoredTarget). The bool reports
// a run of the stored config itself (its credentials, no further than the
// config), which joins the config's history. A *failure is final; other
// errors are worth a retry.
func (w *Worker) target(ctx context.Context, rec *verification.Record) (*storageconfig.Config, storageconfig.Credentials, bool, error) {
	var none storageconfig.Credentials
	var grant verification.Grant
	if len(rec.Sealed) > 0 {
		creds, g, err := rec.OpenRun(ctx, w.Sealer)
		if err != nil {
			return nil, none, false, openFailure(ctx, err, "The credentials of this verification could not be opened; start it again.")
		}
		if !g.ReplaceStored {
			cfg, creds, err := bucketverify.Target(rec.Request, creds)
			if err != nil {
				return nil, none, false, &failure{msg: bucketverify.Message(err)}
			}
			return cfg, creds, false, nil
		}
		grant = g
	}
	const gone = "bucketId: The storage config bucketId names no longer exists."
	if rec.Request.BucketID == "" {
		return nil, none, false, &failure{msg: "This verification holds no credentials; start it again."}
	}
	stored, err := w.Store.GetConfig(ctx, rec.Request.BucketID)
	switch {
	case errors.Is(err, errcode.ErrNotFound):
		return nil, none, false, &failure{msg: gone}
	case err != nil:
		return nil, none, false, fmt.Errorf("verifyworker: read config %s: %w", rec.Request.BucketID, err)
	case stored.OrgID != rec.OrgID:
		return nil, none, false, &failure{msg: gone}
	}
	reach := bucketverify.ReachStored
	if grant.ReplaceStored {
		reach = bucketverify.ReachReplace
	}
	cfg, err := bucketverify.StoredTarget(rec.Request, stored, reach)
	if err != nil {
		return nil, none, false, &failure{msg: bucketverify.Message(err)}
	}
	creds, err := storageconfig.OpenCredentials(ctx, w.Sealer, stored)
	if err != nil {
		return nil, none, false, openFailure(ctx, err, "bucketId: The stored credentials of this storage config could not be opened.")
	}
	if err := bucketverify.CheckAccessKey(rec.Request, stored, creds); err != nil {
		return nil, none, false, &failure{msg: bucketverify.Message(err)}
	}
	return cfg, creds, !grant.ReplaceStored, nil
}

// openFailure classifies an error opening credentials: final when the
// envelope cannot be opened or read, a retry when the key service was
// unavailable or ctx ended.
func openFailure(ctx context.Context, err error, msg string) error {
	if ctx.Err() != nil || errcode.CodeOf(err) == errcode.Unavailable {
		return fmt.Errorf("verifyworker: %w", err)
	}
	return &failure{msg: msg}
}

func (w *Worker) leaseTTL() time.Duration {
	if w.LeaseTTL > 0 {
		return w.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// ownerID is Owner, or a random id made once: the host name and 6 random
// bytes.
func (w *Worker) ownerID() string {
	w.once.Do(func() {
		w.owner = w.Owner
		if w.owner == "" {
			host, _ := os.Hostname()
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			w.owner = host + "-" + hex.EncodeToString(b)
		}
	})
	return w.owner
}
