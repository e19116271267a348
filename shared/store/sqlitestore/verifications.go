package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

var _ store.Verifications = (*Store)(nil)

// verificationColumns lists the columns of verifications in the order of
// verificationArgs and scanVerification. The request, the history and the
// result are JSON documents; times are UTC microseconds.
const verificationColumns = `key, org_id, state, status_since, attempts, deadline,
	lease_owner, lease_until, request, sealed, events, result,
	version, expires_at, created_at`

// createVerificationSQL inserts a record, or takes the key of an expired
// one; when a live record holds the key it changes nothing.
const createVerificationSQL = `INSERT INTO verifications (` + verificationColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (key) DO UPDATE SET
		org_id = excluded.org_id, state = excluded.state, status_since = excluded.status_since,
		attempts = excluded.attempts, deadline = excluded.deadline,
		lease_owner = excluded.lease_owner, lease_until = excluded.lease_until,
		request = excluded.request, sealed = excluded.sealed, events = excluded.events,
		result = excluded.result, version = excluded.version,
		expires_at = excluded.expires_at, created_at = excluded.created_at
	WHERE verifications.expires_at <= ?`

// putVerificationSQL overwrites a live record at an expected version.
const putVerificationSQL = `UPDATE verifications SET
		org_id = ?, state = ?, status_since = ?, attempts = ?, deadline = ?,
		lease_owner = ?, lease_until = ?, request = ?, sealed = ?, events = ?, result = ?,
		version = ?, expires_at = ?, created_at = ?
	WHERE key = ? AND version = ? AND expires_at > ?`

// verificationArgs returns r's values in the order of verificationColumns,
// with version as its version.
func verificationArgs(r *verification.Record, version int64) ([]any, error) {
	req, err := json.Marshal(r.Request)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	events := make([]verification.Event, len(r.Events))
	for i, e := range r.Events {
		e.At = e.At.UTC().Truncate(time.Microsecond)
		events[i] = e
	}
	ev, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("encode events: %w", err)
	}
	res, err := json.Marshal(r.Result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return []any{r.Key, r.OrgID, string(r.State), micros(r.StatusSince), r.Attempts, micros(r.Deadline),
		r.Lease.Owner, nullMicros(r.Lease.Until), string(req), r.Sealed, string(ev), string(res),
		version, micros(r.ExpiresAt), micros(r.CreatedAt)}, nil
}

// scanVerification reads one row selected with verificationColumns.
func scanVerification(row scanner) (*verification.Record, error) {
	var (
		r                                        verification.Record
		state, req, events, result               string
		statusSince, deadline, expires, creation int64
		leaseUntil                               sql.NullInt64
	)
	err := row.Scan(&r.Key, &r.OrgID, &state, &statusSince, &r.Attempts, &deadline,
		&r.Lease.Owner, &leaseUntil, &req, &r.Sealed, &events, &result,
		&r.Version, &expires, &creation)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(req), &r.Request); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	if err := json.Unmarshal([]byte(events), &r.Events); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	if err := json.Unmarshal([]byte(result), &r.Result); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	r.State = verification.State(state)
	r.StatusSince, r.Deadline = fromMicros(statusSince), fromMicros(deadline)
	r.Lease.Until = fromNullMicros(leaseUntil)
	r.ExpiresAt, r.CreatedAt = fromMicros(expires), fromMicros(creation)
	return &r, nil
}

// CreateVerification stores r as given, unless a live record has its key.
// It is one INSERT … ON CONFLICT DO UPDATE … WHERE, whose update part only
// takes over an expired record.
func (s *Store) CreateVerification(ctx context.Context, r *verification.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("create verification: %w", errcode.Wrap(errcode.InvalidArgument, err, "invalid record"))
	}
	args, err := verificationArgs(r, r.Version)
	if err != nil {
		return fmt.Errorf("create verification %s: %w", r.Key, err)
	}
	res, err := s.w.ExecContext(ctx, createVerificationSQL, append(args, micros(time.Now()))...)
	if err != nil {
		return fmt.Errorf("create verification %s: %w", r.Key, classify(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("create verification %s: %w", r.Key, err)
	}
	if n == 0 {
		return fmt.Errorf("create verification %s: %w", r.Key, errcode.New(errcode.AlreadyExists, "verification already exists"))
	}
	return nil
}

// GetVerification returns the live record with key: one SELECT by primary
// key.
func (s *Store) GetVerification(ctx context.Context, key string) (*verification.Record, error) {
	r, err := scanVerification(s.r.QueryRowContext(ctx,
		`SELECT `+verificationColumns+` FROM verifications WHERE key = ? AND expires_at > ?`,
		key, micros(time.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get verification %s: %w", key, errcode.New(errcode.NotFound, "verification not found"))
	}
	if err != nil {
		return nil, fmt.Errorf("get verification %s: %w", key, classify(ctx, err))
	}
	return r, nil
}

// UpdateVerification overwrites the record if its stored version equals
// r.Version, and then sets r.Version to r.Version+1.
func (s *Store) UpdateVerification(ctx context.Context, r *verification.Record) error {
	if err := s.putVerification(ctx, r, r.Version); err != nil {
		return fmt.Errorf("update verification %s: %w", r.Key, err)
	}
	return nil
}

// ReplaceVerification overwrites the record at expectedVersion with the
// new record r, and then sets r.Version to expectedVersion+1.
func (s *Store) ReplaceVerification(ctx context.Context, r *verification.Record, expectedVersion int64) error {
	if err := s.putVerification(ctx, r, expectedVersion); err != nil {
		return fmt.Errorf("replace verification %s: %w", r.Key, err)
	}
	return nil
}

// putVerification writes r over the live record with r.Key at version
// expected, as version expected+1, and sets r.Version to that. When r has
// just become final it also checkpoints the write-ahead log, so that the
// erased sealed credentials do not live on in older copies of the page
// (secure_delete zeroes them in the database file itself).
func (s *Store) putVerification(ctx context.Context, r *verification.Record, expected int64) error {
	next := *r
	next.Version = expected + 1
	if err := next.Validate(); err != nil {
		return errcode.Wrap(errcode.InvalidArgument, err, "invalid record")
	}
	args, err := verificationArgs(&next, next.Version)
	if err != nil {
		return err
	}
	// args without the key, then the key and the conditions.
	args = append(args[1:], r.Key, expected, micros(time.Now()))
	res, err := s.w.ExecContext(ctx, putVerificationSQL, args...)
	if err != nil {
		return classify(ctx, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return s.putFailure(ctx, r.Key, expected)
	}
	r.Version = next.Version
	if r.State.Final() && len(r.Sealed) == 0 {
		// Best effort, and the write has committed: a reader of this or
		// another process can hold the checkpoint back, and then the next
		// checkpoint (at the latest when the store closes) does it.
		_, _ = s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	return nil
}

// putFailure explains a put that matched no row: a missing or expired
// record is NotFound, another version a Conflict.
func (s *Store) putFailure(ctx context.Context, key string, expected int64) error {
	var version, expires int64
	err := s.w.QueryRowContext(ctx, `SELECT version, expires_at FROM verifications WHERE key = ?`, key).Scan(&version, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && expires <= micros(time.Now()):
		return errcode.New(errcode.NotFound, "verification not found")
	case err != nil:
		return classify(ctx, err)
	}
	return errcode.New(errcode.Conflict, "verification changed: version %d, not %d", version, expected)
}

// SweepVerifications deletes every record whose ExpiresAt is at or before
// now (a range of the verifications_expires index) and returns how many it
// deleted. With secure_delete and a checkpoint, the sealed credentials of
// records that never finished are overwritten too.
func (s *Store) SweepVerifications(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM verifications WHERE expires_at <= ?`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("sweep verifications: %w", classify(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep verifications: %w", err)
	}
	if n > 0 {
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return int(n), fmt.Errorf("sweep verifications: checkpoint: %w", classify(ctx, err))
		}
	}
	return int(n), nil
}
