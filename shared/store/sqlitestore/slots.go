package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bucketlink/bucketlink/shared/store"
)

var _ store.VerificationSlots = (*Store)(nil)

// AcquireVerificationSlot takes a slot of orgID for key in one write
// transaction: it first deletes the org's expired slots (which takes the
// write lock, so the count that follows cannot change under it), keeps a
// live slot of key, or counts the org's slots (a range of the primary key)
// and inserts one below the limit.
func (s *Store) AcquireVerificationSlot(ctx context.Context, orgID int64, key string, now, until time.Time, limit int) (bool, error) {
	if err := store.ValidateSlot(key, until, limit); err != nil {
		return false, fmt.Errorf("acquire verification slot: %w", err)
	}
	taken, err := s.acquireSlot(ctx, orgID, key, micros(now), micros(until), limit)
	if err != nil {
		return false, fmt.Errorf("acquire verification slot of org %d: %w", orgID, err)
	}
	return taken, nil
}

func (s *Store) acquireSlot(ctx context.Context, orgID int64, key string, now, until int64, limit int) (taken bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, classify(ctx, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that matters is err
		}
	}()
	if _, err := tx.ExecContext(ctx, `DELETE FROM verification_slots WHERE org_id = ? AND until <= ?`, orgID, now); err != nil {
		return false, classify(ctx, err)
	}
	var held int64
	err = tx.QueryRowContext(ctx, `SELECT until FROM verification_slots WHERE org_id = ? AND key = ?`, orgID, key).Scan(&held)
	switch {
	case err == nil:
		if until > held {
			if _, err := tx.ExecContext(ctx, `UPDATE verification_slots SET until = ? WHERE org_id = ? AND key = ?`, until, orgID, key); err != nil {
				return false, classify(ctx, err)
			}
		}
		return false, commit(ctx, tx)
	case !errors.Is(err, sql.ErrNoRows):
		return false, classify(ctx, err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM verification_slots WHERE org_id = ?`, orgID).Scan(&n); err != nil {
		return false, classify(ctx, err)
	}
	if n >= limit {
		err = fmt.Errorf("%d of %d slots held: %w", n, limit, store.ErrAtCapacity)
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO verification_slots (org_id, key, until) VALUES (?, ?, ?)`, orgID, key, until); err != nil {
		return false, classify(ctx, err)
	}
	return true, commit(ctx, tx)
}

func commit(ctx context.Context, tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return classify(ctx, err)
	}
	return nil
}

// ReleaseVerificationSlot deletes the slot of key: one DELETE by primary
// key.
func (s *Store) ReleaseVerificationSlot(ctx context.Context, orgID int64, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM verification_slots WHERE org_id = ? AND key = ?`, orgID, key); err != nil {
		return fmt.Errorf("release verification slot of org %d: %w", orgID, classify(ctx, err))
	}
	return nil
}

// CountVerificationSlots counts the org's live slots: a range of the
// primary key.
func (s *Store) CountVerificationSlots(ctx context.Context, orgID int64, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM verification_slots WHERE org_id = ? AND until > ?`, orgID, micros(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count verification slots of org %d: %w", orgID, classify(ctx, err))
	}
	return n, nil
}
