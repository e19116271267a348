package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// DefaultVerifyOrgCap is how many bucket verifications one org may have in
// connecting at once, when Server.VerifyOrgCap is 0.
//
// Ten is several times what a person verifying buckets by hand (one body
// at a time, polled to the end) or a script verifying a handful of
// buckets needs, and small against the capacity it shares: on AWS, the
// worker's 10 environments of 5 records each run 50 verifications at once,
// so one org can take a fifth and four orgs at their cap still leave room;
// locally, a quiet org always gets a worker of its own (memqueue). Each of
// those verifications ends within the record deadline (60 s by default),
// so an org at its cap waits at most that long.
const DefaultVerifyOrgCap = 10

// msgVerifyAtCap answers a new verification of an org at its cap.
const msgVerifyAtCap = "This organization already has %d bucket verifications running, the most it may run at once. " +
	"Wait for them to finish (each ends within %d seconds) and try again."

// verifyOrgCap is the cap in force.
func (s *Server) verifyOrgCap() int {
	if s.VerifyOrgCap > 0 {
		return min(s.VerifyOrgCap, store.MaxSlotLimit)
	}
	return DefaultVerifyOrgCap
}

// verifyGroup is the queue group of an org's verifications: the unit of
// fairness of the worker pool and of the SQS fair queue.
func verifyGroup(orgID int64) string { return strconv.FormatInt(orgID, 10) }

// takeVerificationSlot takes one of the org's slots for the verification
// with key, until the deadline its record will have, before anything is
// sealed or stored. An org at its cap gets a field error (HTTP 200,
// success false) saying to wait. The returned release gives the slot back
// when the verification does not start after all (another request started
// it first, or it could not be sent); it does nothing when the slot was
// the key's already.
func (s *Server) takeVerificationSlot(ctx context.Context, orgID int64, key string) (release func(), err error) {
	deadline := s.VerifyRecordDeadline
	if deadline <= 0 {
		deadline = verification.DefaultRecordDeadline
	}
	now := s.now()
	limit := s.verifyOrgCap()
	taken, err := s.Store.AcquireVerificationSlot(ctx, orgID, key, now, now.Add(deadline), limit)
	switch {
	case errors.Is(err, store.ErrAtCapacity):
		logger(ctx).Info("verification refused: the org is at its cap", slog.Int64("org", orgID), slog.Int("cap", limit))
		return nil, errcode.FieldErrors{errcode.NonField: {fmt.Sprintf(msgVerifyAtCap, limit, int(deadline.Round(time.Second)/time.Second))}}
	case err != nil:
		return nil, fmt.Errorf("take a verification slot: %w", err)
	case !taken:
		return func() {}, nil
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Store.ReleaseVerificationSlot(rctx, orgID, key); err != nil {
			// It expires at the record's deadline anyway.
			logger(ctx).Warn("could not release a verification slot", slog.String("verification", key), slog.String("error", err.Error()))
		}
	}, nil
}
