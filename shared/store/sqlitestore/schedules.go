package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

var _ store.Schedules = (*Store)(nil)

// dueSQL finds the due configs: a range scan of the partial index
// configs_due, which holds only configs with a next-due time, in index
// order (see TestDueUsesIndex).
const dueSQL = `SELECT ` + configColumns + ` FROM configs
	WHERE next_reverify_at <= ? AND reverify_interval_s > 0
	ORDER BY next_reverify_at, uid LIMIT ?`

// DueConfigs returns up to limit due configs, most overdue first. They are
// whole configs.
func (s *Store) DueConfigs(ctx context.Context, now time.Time, limit int) ([]*storageconfig.Config, error) {
	if err := store.ValidateDueLimit(limit); err != nil {
		return nil, fmt.Errorf("due configs: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, dueSQL, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due configs: %w", classify(ctx, err))
	}
	defer rows.Close()
	var out []*storageconfig.Config
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return nil, fmt.Errorf("due configs: %w", classify(ctx, err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due configs: %w", classify(ctx, err))
	}
	return out, nil
}

// ClaimDue moves the config's next-due time from expectedNext to newNext
// with one conditional UPDATE.
func (s *Store) ClaimDue(ctx context.Context, c *storageconfig.Config, expectedNext, newNext time.Time) error {
	if err := store.ValidateClaim(expectedNext, newNext); err != nil {
		return fmt.Errorf("claim config %s: %w", c.UID, err)
	}
	var version int64
	err := s.w.QueryRowContext(ctx, `UPDATE configs SET next_reverify_at = ?, version = version + 1
		WHERE uid = ? AND org_id = ? AND next_reverify_at = ? AND reverify_interval_s > 0
		RETURNING version`, micros(newNext), c.UID, c.OrgID, micros(expectedNext)).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return s.claimFailure(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("claim config %s: %w", c.UID, classify(ctx, err))
	}
	c.NextReverifyAt, c.Version = newNext.UTC(), version
	return nil
}

// claimFailure tells a missing config from a moved next-due time.
func (s *Store) claimFailure(ctx context.Context, c *storageconfig.Config) error {
	var one int
	err := s.w.QueryRowContext(ctx, `SELECT 1 FROM configs WHERE uid = ? AND org_id = ?`, c.UID, c.OrgID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("claim config %s: %w", c.UID, errcode.New(errcode.NotFound, "storage config not found"))
	case err != nil:
		return fmt.Errorf("claim config %s: %w", c.UID, classify(ctx, err))
	}
	return store.ClaimConflict(c.UID)
}

// appendVerificationSQL inserts an entry with the config's next sequence
// number, only if the config exists in the org (no row otherwise).
const appendVerificationSQL = `INSERT INTO config_verifications
		(config_uid, seq, org_id, at, verified, trigger_kind, checks)
	SELECT c.uid, COALESCE((SELECT MAX(v.seq) FROM config_verifications v WHERE v.config_uid = c.uid), 0) + 1,
		c.org_id, ?, ?, ?, ?
	FROM configs c WHERE c.uid = ? AND c.org_id = ?
	RETURNING seq`

// AppendVerification adds v to the config's history and trims it to the
// newest store.MaxHistory entries, in one transaction.
func (s *Store) AppendVerification(ctx context.Context, orgID int64, uid string, v store.VerificationEntry) (err error) {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("append verification of %s: %w", uid, err)
	}
	checks, err := encodeChecks(v.Checks)
	if err != nil {
		return fmt.Errorf("append verification of %s: %w", uid, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append verification of %s: %w", uid, classify(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that matters is err
		}
	}()
	var seq int64
	err = tx.QueryRowContext(ctx, appendVerificationSQL,
		micros(v.At), v.Verified, string(v.Trigger), checks, uid, orgID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("append verification of %s: %w", uid, errcode.New(errcode.NotFound, "storage config not found"))
	}
	if err != nil {
		return fmt.Errorf("append verification of %s: %w", uid, classify(ctx, err))
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM config_verifications WHERE config_uid = ? AND seq <= ?`,
		uid, seq-store.MaxHistory); err != nil {
		return fmt.Errorf("append verification of %s: trim: %w", uid, classify(ctx, err))
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("append verification of %s: commit: %w", uid, classify(ctx, err))
	}
	return nil
}

// The history queries: range scans of the primary key (config_uid, seq),
// fetching one row more than the page to learn More.
const (
	historyColumns   = `seq, at, verified, trigger_kind, checks`
	historyFirstSQL  = `SELECT ` + historyColumns + ` FROM config_verifications WHERE config_uid = ? AND org_id = ? ORDER BY seq DESC LIMIT ?`
	historyAfterSQL  = `SELECT ` + historyColumns + ` FROM config_verifications WHERE config_uid = ? AND org_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`
	historyBeforeSQL = `SELECT ` + historyColumns + ` FROM config_verifications WHERE config_uid = ? AND org_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`
)

// ListVerifications returns a page of the config's history, newest first.
func (s *Store) ListVerifications(ctx context.Context, orgID int64, uid string, opts store.HistoryOptions) (store.HistoryPage, error) {
	if err := opts.Validate(); err != nil {
		return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, err)
	}
	var rows *sql.Rows
	var err error
	switch {
	case opts.After > 0:
		rows, err = s.r.QueryContext(ctx, historyAfterSQL, uid, orgID, opts.After, opts.Limit+1)
	case opts.Before > 0:
		rows, err = s.r.QueryContext(ctx, historyBeforeSQL, uid, orgID, opts.Before, opts.Limit+1)
	default:
		rows, err = s.r.QueryContext(ctx, historyFirstSQL, uid, orgID, opts.Limit+1)
	}
	if err != nil {
		return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, classify(ctx, err))
	}
	defer rows.Close()
	items := make([]store.VerificationEntry, 0, opts.Limit+1)
	for rows.Next() {
		var (
			v      store.VerificationEntry
			at     int64
			checks string
		)
		if err := rows.Scan(&v.Seq, &at, &v.Verified, &v.Trigger, &checks); err != nil {
			return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, classify(ctx, err))
		}
		v.At = fromMicros(at)
		if err := json.Unmarshal([]byte(checks), &v.Checks); err != nil {
			return store.HistoryPage{}, fmt.Errorf("list verifications of %s: decode checks: %w", uid, err)
		}
		items = append(items, v)
	}
	if err := rows.Err(); err != nil {
		return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, classify(ctx, err))
	}
	page := store.HistoryPage{Items: items, More: len(items) > opts.Limit}
	if page.More {
		page.Items = items[:opts.Limit]
	}
	if opts.Before > 0 {
		slices.Reverse(page.Items) // fetched oldest first, nearest the cursor
	}
	return page, nil
}

// encodeChecks is how an entry's checks are stored: a JSON list, [] for
// none.
func encodeChecks(checks []verification.Check) (string, error) {
	if checks == nil {
		checks = []verification.Check{}
	}
	b, err := json.Marshal(checks)
	if err != nil {
		return "", fmt.Errorf("encode checks: %w", err)
	}
	return string(b), nil
}

// seconds stores a duration as whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }
