package store

import (
	"context"
	"errors"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// VerificationSlots bounds how many bucket verifications one org has in
// connecting at once: the bucket-verify API takes a slot before it starts
// a verification and refuses a new one while the org holds its limit, and
// the final transition gives the slot back.
//
// A slot is held by a record key until a time, the record's deadline, and
// counts only until then: a verification whose worker died, whose message
// was lost or whose release failed frees its slot when its record reads as
// timed out, with no sweep and no counter to repair. Releasing early (at
// the final transition) is what lets the next verification start at once.
//
//	taken, err := AcquireVerificationSlot(ctx, org, key, now, rec.Deadline, limit)
//	// errors.Is(err, ErrAtCapacity): answer "wait for your running verifications"
//	CreateVerification(ctx, rec)        // ErrAlreadyExists and taken: ReleaseVerificationSlot
//	... the worker's final write ...
//	ReleaseVerificationSlot(ctx, org, key)
//
// Neither store scans: SQLite reads the org's rows of a small table by its
// primary key; DynamoDB keeps one item per org, a map of record keys to
// times, and changes it with conditional UpdateItem calls
// (infra/dynamodb.md).
type VerificationSlots interface {
	// AcquireVerificationSlot takes a slot of orgID for key until until,
	// counting as live the slots whose until is after now. When key holds
	// a live slot already, it is kept (until becomes the later of the two)
	// and the answer is (false, nil): never refused. Otherwise, if the org
	// holds limit (1..MaxSlotLimit) live slots, the error matches
	// ErrAtCapacity and nothing changes; else the slot is taken and the
	// answer is (true, nil). Of concurrent acquisitions, no more succeed
	// than the limit allows. Expired slots may be deleted on the way.
	AcquireVerificationSlot(ctx context.Context, orgID int64, key string, now, until time.Time, limit int) (taken bool, err error)

	// ReleaseVerificationSlot gives back the slot of key in orgID. A slot
	// that is missing (released, expired, never taken) is not an error.
	ReleaseVerificationSlot(ctx context.Context, orgID int64, key string) error

	// CountVerificationSlots returns how many live slots (until after now)
	// orgID holds.
	CountVerificationSlots(ctx context.Context, orgID int64, now time.Time) (int, error)
}

// MaxSlotLimit is the largest limit AcquireVerificationSlot takes: it
// bounds the size of DynamoDB's per-org item (about 80 bytes a slot).
const MaxSlotLimit = 1000

// ErrAtCapacity is matched by the error of an AcquireVerificationSlot
// refused because the org holds its limit of live slots.
var ErrAtCapacity = errors.New("the org has as many verifications running as it may")

// ValidateSlot checks the arguments of AcquireVerificationSlot; the error
// has code errcode.InvalidArgument.
func ValidateSlot(key string, until time.Time, limit int) error {
	switch {
	case key == "":
		return errcode.New(errcode.InvalidArgument, "verification slot: no key")
	case until.IsZero():
		return errcode.New(errcode.InvalidArgument, "verification slot: no end time")
	case limit < 1 || limit > MaxSlotLimit:
		return errcode.New(errcode.InvalidArgument, "verification slot: limit %d, use 1 to %d", limit, MaxSlotLimit)
	}
	return nil
}
