package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// Schedules persists what re-verification needs beyond Configs: finding
// the configs that are due, claiming them for one scheduler run, and each
// config's verification history.
//
// A scheduler run, followed through:
//
//	due, _ := DueConfigs(ctx, now, batch)          // through an index, never a scan
//	for _, c := range due {
//		next := storageconfig.NextDue(now, c.ReverifyInterval, c.ReverifyFailures)
//		ClaimDue(ctx, c, c.NextReverifyAt, next)  // ErrConflict: another run has it; skip
//	}
//	send the claimed ones to the queue
//
// and the worker then re-tests, writes the outcome with UpdateConfig
// (storageconfig.Config.RecordVerification), and AppendVerification.
type Schedules interface {
	// DueConfigs returns up to limit (1..MaxDueLimit) configs that
	// re-verify (storageconfig.Config.Reverifies) and whose
	// NextReverifyAt is at or before now, most overdue first
	// (NextReverifyAt, then UID). It reads an index kept for it, never
	// every config.
	//
	// The configs carry at least UID, OrgID, Version, ReverifyInterval,
	// NextReverifyAt and ReverifyFailures; the other fields may be zero
	// (DynamoDB reads a slim index that holds no credentials): GetConfig
	// reads the rest. The index may lag a moment behind writes (DynamoDB),
	// so a config just claimed can still be listed; its ClaimDue then
	// fails with ErrConflict.
	DueConfigs(ctx context.Context, now time.Time, limit int) ([]*storageconfig.Config, error)

	// ClaimDue moves the next-due time of config c.UID in c.OrgID from
	// expectedNext to newNext (non-zero) with one conditional write, and
	// increments its Version, leaving every other field alone. Of two
	// claims with the same expectedNext exactly one succeeds, so two
	// scheduler runs at once enqueue a config once. A missing config, or
	// one of another org, is ErrNotFound; one whose stored NextReverifyAt
	// is not expectedNext (or whose re-verification is off) is
	// ErrConflict, and nothing is written. On success c.NextReverifyAt is
	// newNext and c.Version the stored version.
	ClaimDue(ctx context.Context, c *storageconfig.Config, expectedNext, newNext time.Time) error

	// AppendVerification adds v (v.Seq is ignored) to the history of
	// config uid in orgID as its newest entry, with the next sequence
	// number, and drops the entries beyond the newest MaxHistory. A
	// missing config, or one of another org, is ErrNotFound: history never
	// outlives, or resurrects, its config. DeleteConfig deletes the
	// history with the config. v must pass Validate.
	AppendVerification(ctx context.Context, orgID int64, uid string, v VerificationEntry) error

	// ListVerifications returns a page of the history of config uid in
	// orgID, newest first. A config with no history, a missing config or
	// one of another org gives an empty page, not ErrNotFound: callers
	// check the config first. opts must pass Validate.
	ListVerifications(ctx context.Context, orgID int64, uid string, opts HistoryOptions) (HistoryPage, error)
}

// MaxDueLimit is the largest batch DueConfigs returns.
const MaxDueLimit = 1000

// MaxHistory is how many verification entries a config keeps: the newest
// 100. At the shortest interval (15 minutes) that is a day of scheduled
// tests; at the default (an hour), four days.
const MaxHistory = 100

// Trigger says what started a verification.
type Trigger string

// The triggers of a verification entry.
const (
	TriggerCreate   Trigger = "create"   // POST /storage-configs/
	TriggerTest     Trigger = "test"     // POST /storage-configs/{uid}/test/
	TriggerSchedule Trigger = "schedule" // the re-verification scheduler
	TriggerVerify   Trigger = "verify"   // the bucket-verify API
	// TriggerRotate: a PATCH with new credentials, whose checks passed.
	TriggerRotate Trigger = "rotate"
	// TriggerEdit: a PATCH of the bucket, region, prefix or endpoint
	// with the stored credentials, whose checks passed.
	TriggerEdit Trigger = "edit"
)

// knownTriggers are the triggers an entry may have.
var knownTriggers = []Trigger{TriggerCreate, TriggerTest, TriggerSchedule, TriggerVerify, TriggerRotate, TriggerEdit}

// VerificationEntry is one verification of a stored config: when it ended,
// whether every check passed, the checks (codes and messages, never a
// secret) and what triggered it.
type VerificationEntry struct {
	// Seq numbers a config's entries 1, 2, ... in the order they were
	// appended; the store assigns it. Pages are ordered by it.
	Seq      int64
	At       time.Time
	Verified bool
	Checks   []verification.Check
	Trigger  Trigger
}

// MaxChecks bounds the checks of one entry.
const MaxChecks = 32

// Validate reports whether v can be stored: a time, a known trigger and
// at most MaxChecks checks. The error has code errcode.InvalidArgument.
func (v VerificationEntry) Validate() error {
	switch {
	case v.At.IsZero():
		return errcode.New(errcode.InvalidArgument, "verification entry: no time")
	case !slices.Contains(knownTriggers, v.Trigger):
		return errcode.New(errcode.InvalidArgument, "verification entry: unknown trigger %q", v.Trigger)
	case len(v.Checks) > MaxChecks:
		return errcode.New(errcode.InvalidArgument, "verification entry: %d checks, at most %d", len(v.Checks), MaxChecks)
	}
	return nil
}

// NewVerificationEntry returns the entry of a verification that ended at
// now: whether it verified (verify.Result.Verified) and its checks.
func NewVerificationEntry(now time.Time, trigger Trigger, verified bool, checks []verification.Check) VerificationEntry {
	return VerificationEntry{At: now, Verified: verified, Checks: checks, Trigger: trigger}
}

// HistoryOptions selects one page of a config's history.
type HistoryOptions struct {
	// Limit is the page size, 1..MaxLimit.
	Limit int
	// After, when positive, returns the entries older than the entry with
	// that Seq (the next page); Before, when positive, the entries newer
	// than it (the previous page). At most one is set.
	After, Before int64
}

// Validate reports whether o selects a page, like ListOptions.Validate.
func (o HistoryOptions) Validate() error {
	switch {
	case o.Limit < 1 || o.Limit > MaxLimit:
		return errcode.New(errcode.InvalidArgument, "page size %d: use 1 to %d", o.Limit, MaxLimit)
	case o.After < 0 || o.Before < 0:
		return errcode.New(errcode.InvalidArgument, "page: negative position")
	case o.After > 0 && o.Before > 0:
		return errcode.New(errcode.InvalidArgument, "page: set at most one of after and before")
	}
	return nil
}

// HistoryPage is one page of a config's history, newest first.
type HistoryPage struct {
	Items []VerificationEntry
	// More reports whether further entries exist beyond this page in the
	// direction of travel, as Page.More does.
	More bool
}

// ValidateDueLimit checks a DueConfigs limit; the error has code
// errcode.InvalidArgument.
func ValidateDueLimit(limit int) error {
	if limit < 1 || limit > MaxDueLimit {
		return errcode.New(errcode.InvalidArgument, "due batch %d: use 1 to %d", limit, MaxDueLimit)
	}
	return nil
}

// ValidateClaim checks the times of a ClaimDue.
func ValidateClaim(expectedNext, newNext time.Time) error {
	if expectedNext.IsZero() || newNext.IsZero() {
		return errcode.New(errcode.InvalidArgument, "claim: expected and new next-due times must be set")
	}
	return nil
}

// ClaimConflict returns the error of a claim that lost: the stored next-due
// time of config uid is not the expected one (or re-verification is off).
// It matches errcode.ErrConflict.
func ClaimConflict(uid string) error {
	return fmt.Errorf("claim config %s: %w", uid,
		errcode.New(errcode.Conflict, "next-due time moved: claimed by another run, or rescheduled"))
}
