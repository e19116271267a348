package store

import (
	"context"
	"time"

	"github.com/bucketlink/bucketlink/shared/verification"
)

// Verifications persists the state records of asynchronous bucket
// verifications (verification.Record). Records are selected by Key alone.
//
// Beyond the contract of the package:
//   - every write first checks verification.Record.Validate, and fails with
//     errcode.InvalidArgument without writing;
//   - a record whose ExpiresAt is at or before the store's clock is gone for
//     every method (GetVerification answers ErrNotFound, and
//     CreateVerification may take its key), whether or not it has been
//     deleted yet: DynamoDB's TTL deletes late, and the local sweep runs
//     only now and then;
//   - polling is one read: GetVerification is a single GetItem or a single
//     SELECT by primary key;
//   - the stores know nothing of states: that a final record never goes back
//     follows from verify's transitions plus the conditional writes here.
//
// A verification, followed through:
//
//	r := verification.NewRecord(now, key, org, req, sealed, 0)
//	CreateVerification(ctx, r)              // ErrAlreadyExists: someone started it; Get and show
//	...
//	r, _ := GetVerification(ctx, key)       // a worker, or a poll (r.View(now))
//	r.AcquireLease(owner, now, ttl)
//	UpdateVerification(ctx, r)              // ErrConflict: another worker won; drop the message
//	r.Complete(now, res, checks)            // or Fail, or TimeOut
//	UpdateVerification(ctx, r)              // ErrConflict: the lease was taken over; drop the result
//
// and, when old.Restartable(now, verification.RestartWindow):
//
//	ReplaceVerification(ctx, verification.NewRecord(now, key, ...), old.Version)
type Verifications interface {
	// CreateVerification stores r as given (a new record has Version 1),
	// unless a record with its key exists: ErrAlreadyExists. Of many
	// concurrent creates of one key, exactly one succeeds.
	CreateVerification(ctx context.Context, r *verification.Record) error

	// GetVerification returns the record with key by one strongly
	// consistent read, as stored: callers show r.View(now).
	GetVerification(ctx context.Context, key string) (*verification.Record, error)

	// UpdateVerification replaces every stored field of the record with
	// r.Key by r's if the stored Version equals r.Version, and then sets
	// r.Version to r.Version+1. A missing (or expired) record is
	// ErrNotFound; another version is ErrConflict, and then nothing is
	// written and r.Version is left alone. Of two updates from the same
	// read, exactly one succeeds.
	UpdateVerification(ctx context.Context, r *verification.Record) error

	// ReplaceVerification stores the new record r in place of the stored
	// one with r.Key if that one's Version equals expectedVersion (the
	// version of the final record the caller read and found Restartable),
	// and then sets r.Version to expectedVersion+1, so that versions keep
	// growing across restarts and a writer still holding the old record
	// can never overwrite the new one. Errors are those of
	// UpdateVerification.
	ReplaceVerification(ctx context.Context, r *verification.Record, expectedVersion int64) error

	// SweepVerifications deletes the records whose ExpiresAt is at or
	// before now and returns how many it deleted, where the store has to
	// do that itself (SQLite); a store whose database expires items on its
	// own (DynamoDB's TTL) deletes nothing and returns 0. Expired records
	// read as missing either way.
	SweepVerifications(ctx context.Context, now time.Time) (int, error)
}
