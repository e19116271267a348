package sqlitestore

import (
	"bytes"
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
)

// configColumns lists the columns of configs in the order of configArgs and
// scanConfig. The provider's settings are one JSON document (settings):
// the table has no provider columns.
const configColumns = `uid, id, org_id, name, provider, settings,
	is_verified, last_verified_at, created_at, updated_at, version, sealed,
	reverify_interval_s, next_reverify_at, reverify_failures, cors_origins`

// The listing queries. Each is a range scan of configs_org_created (see
// TestListUsesIndex) and fetches one row more than the page to learn More.
const (
	listFirstSQL = `SELECT ` + configColumns + ` FROM configs
	WHERE org_id = ?
	ORDER BY created_at DESC, uid DESC LIMIT ?`
	listAfterSQL = `SELECT ` + configColumns + ` FROM configs
	WHERE org_id = ? AND (created_at, uid) < (?, ?)
	ORDER BY created_at DESC, uid DESC LIMIT ?`
	listBeforeSQL = `SELECT ` + configColumns + ` FROM configs
	WHERE org_id = ? AND (created_at, uid) > (?, ?)
	ORDER BY created_at ASC, uid ASC LIMIT ?`
)

// configArgs returns c's values in the order of configColumns.
func configArgs(c *storageconfig.Config) ([]any, error) {
	doc, err := storageconfig.EncodeSettings(c)
	if err != nil {
		return nil, err
	}
	return []any{c.UID, c.ID, c.OrgID, c.Name, string(c.Provider), string(doc),
		c.IsVerified, nullMicros(c.LastVerifiedAt), micros(c.CreatedAt), micros(c.UpdatedAt), c.Version, c.Sealed,
		seconds(c.ReverifyInterval), nullMicros(c.NextReverifyAt), c.ReverifyFailures, nullOrigins(c.CORSOrigins)}, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanConfig reads one row selected with configColumns.
func scanConfig(row scanner) (*storageconfig.Config, error) {
	var (
		c                    storageconfig.Config
		provider, doc        string
		lastVerified         sql.NullInt64
		createdAt, updatedAt int64
		interval             int64
		nextReverify         sql.NullInt64
		origins              sql.NullString
	)
	err := row.Scan(&c.UID, &c.ID, &c.OrgID, &c.Name, &provider, &doc,
		&c.IsVerified, &lastVerified, &createdAt, &updatedAt, &c.Version, &c.Sealed,
		&interval, &nextReverify, &c.ReverifyFailures, &origins)
	if err != nil {
		return nil, err
	}
	if c.CORSOrigins, err = fromNullOrigins(origins); err != nil {
		return nil, fmt.Errorf("config %s: %w", c.UID, err)
	}
	c.Provider = storageconfig.Provider(provider)
	if err = storageconfig.DecodeDocument(&c, []byte(doc)); err != nil {
		return nil, fmt.Errorf("config %s: %w", c.UID, err)
	}
	c.ReverifyInterval, c.NextReverifyAt = time.Duration(interval)*time.Second, fromNullMicros(nextReverify)
	c.LastVerifiedAt = fromNullMicros(lastVerified)
	c.CreatedAt, c.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &c, nil
}

// CreateConfig stores c as given, with the next integer id of the global
// sequence, which it sets in c.ID. The sequence and the row are written in
// one transaction: a failed create leaves neither.
func (s *Store) CreateConfig(ctx context.Context, c *storageconfig.Config) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, classify(ctx, err))
	}
	defer tx.Rollback() // a no-op after Commit
	var id int64
	err = tx.QueryRowContext(ctx, `UPDATE sequences SET value = value + 1 WHERE name = 'config_id' RETURNING value`).Scan(&id)
	if err != nil {
		return fmt.Errorf("create config %s: allocate id: %w", c.UID, classify(ctx, err))
	}
	withID := *c
	withID.ID = id
	if err := insertConfig(ctx, tx, &withID); err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, classify(ctx, err))
	}
	c.ID = id
	return nil
}

// insertConfig inserts the row of c in tx.
func insertConfig(ctx context.Context, tx *sql.Tx, c *storageconfig.Config) error {
	args, err := configArgs(c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO configs (`+configColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return classify(ctx, err)
	}
	return nil
}

// GetConfig returns the config with uid, in any org.
func (s *Store) GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error) {
	c, err := scanConfig(s.r.QueryRowContext(ctx, `SELECT `+configColumns+` FROM configs WHERE uid = ?`, uid))
	if err != nil {
		return nil, fmt.Errorf("get config %s: %w", uid, classify(ctx, err))
	}
	return c, nil
}

// GetConfigByID returns the config with the integer id, in any org, by the
// configs_id index.
func (s *Store) GetConfigByID(ctx context.Context, id int64) (*storageconfig.Config, error) {
	c, err := scanConfig(s.r.QueryRowContext(ctx, `SELECT `+configColumns+` FROM configs WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("get config #%d: %w", id, classify(ctx, err))
	}
	return c, nil
}

// ListConfigs returns a page of orgID's configs, newest first, by a keyset
// range scan of the (org_id, created_at, uid) index.
func (s *Store) ListConfigs(ctx context.Context, orgID int64, opts store.ListOptions) (store.Page, error) {
	if err := opts.Validate(); err != nil {
		return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, err)
	}
	var rows *sql.Rows
	var err error
	switch {
	case opts.After != nil:
		rows, err = s.r.QueryContext(ctx, listAfterSQL, orgID, micros(opts.After.CreatedAt), opts.After.UID, opts.Limit+1)
	case opts.Before != nil:
		rows, err = s.r.QueryContext(ctx, listBeforeSQL, orgID, micros(opts.Before.CreatedAt), opts.Before.UID, opts.Limit+1)
	default:
		rows, err = s.r.QueryContext(ctx, listFirstSQL, orgID, opts.Limit+1)
	}
	if err != nil {
		return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, classify(ctx, err))
	}
	defer rows.Close()
	items := make([]*storageconfig.Config, 0, opts.Limit+1)
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, classify(ctx, err))
		}
		items = append(items, c)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, classify(ctx, err))
	}
	page := store.Page{Items: items, More: len(items) > opts.Limit}
	if page.More {
		page.Items = items[:opts.Limit]
	}
	if opts.Before != nil {
		slices.Reverse(page.Items) // fetched oldest first, nearest the cursor
	}
	return page, nil
}

// UpdateConfig replaces every stored field of the config with c's (its UID
// and OrgID select it) if the stored Version equals c.Version, and then sets
// c.Version to c.Version+1. An update that replaces the sealed credentials
// (a rotation) destroys the old envelope as DeleteConfig does: secure_delete
// zeroes it in the page, and a checkpoint takes it out of the -wal file.
func (s *Store) UpdateConfig(ctx context.Context, c *storageconfig.Config) error {
	return s.updateConfig(ctx, c, nil)
}

// updateConfig is UpdateConfig, with before run first in the same
// transaction (nil: nothing); an error of before rolls everything back.
func (s *Store) updateConfig(ctx context.Context, c *storageconfig.Config, before func(*sql.Tx) error) error {
	doc, err := storageconfig.EncodeSettings(c)
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
	}
	defer tx.Rollback() // a no-op after Commit
	if before != nil {
		if err := before(tx); err != nil {
			return err
		}
	}
	// The envelope this update replaces, to destroy it after.
	var old []byte
	if err := tx.QueryRowContext(ctx, `SELECT sealed FROM configs WHERE uid = ? AND org_id = ? AND version = ?`,
		c.UID, c.OrgID, c.Version).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
	}
	res, err := tx.ExecContext(ctx, `UPDATE configs SET
		name = ?, provider = ?, settings = ?, is_verified = ?, last_verified_at = ?,
		created_at = ?, updated_at = ?, version = version + 1, sealed = ?,
		reverify_interval_s = ?, next_reverify_at = ?, reverify_failures = ?, cors_origins = ?
		WHERE uid = ? AND org_id = ? AND version = ?`,
		c.Name, string(c.Provider), string(doc), c.IsVerified, nullMicros(c.LastVerifiedAt),
		micros(c.CreatedAt), micros(c.UpdatedAt), c.Sealed,
		seconds(c.ReverifyInterval), nullMicros(c.NextReverifyAt), c.ReverifyFailures, nullOrigins(c.CORSOrigins),
		c.UID, c.OrgID, c.Version)
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, err)
	}
	if n != 1 {
		// Nothing matched: tell a missing config from a newer version.
		var stored int64
		err = tx.QueryRowContext(ctx, `SELECT version FROM configs WHERE uid = ? AND org_id = ?`, c.UID, c.OrgID).Scan(&stored)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("update config %s: %w", c.UID, errcode.New(errcode.NotFound, "storage config not found"))
		case err != nil:
			return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
		}
		return fmt.Errorf("update config %s: %w", c.UID,
			errcode.New(errcode.Conflict, "storage config changed: version %d, not %d", stored, c.Version))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
	}
	c.Version++
	if old != nil && !bytes.Equal(old, c.Sealed) {
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return fmt.Errorf("update config %s: stored; checkpoint: %w", c.UID, classify(ctx, err))
		}
	}
	return nil
}

// DeleteConfig removes the config and, with secure_delete, overwrites its
// sealed credentials in the database file.
func (s *Store) DeleteConfig(ctx context.Context, orgID int64, uid string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM configs WHERE uid = ? AND org_id = ?`, uid, orgID)
	if err != nil {
		return fmt.Errorf("delete config %s: %w", uid, classify(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete config %s: %w", uid, err)
	}
	if n == 0 {
		return fmt.Errorf("delete config %s: %w", uid, errcode.New(errcode.NotFound, "storage config not found"))
	}
	// secure_delete zeroes the row in the database page, but the write-ahead
	// log still holds earlier copies of that page until a checkpoint. Force
	// one now (best effort: a concurrent reader can hold it back) so the
	// sealed credentials do not outlive the delete in the -wal file.
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("delete config %s: checkpoint: %w", uid, classify(ctx, err))
	}
	return nil
}

// nullOrigins is the cors_origins column of origins: NULL for nil (the
// operator's origins), else a JSON array, "[]" for none.
func nullOrigins(origins []string) sql.NullString {
	if origins == nil {
		return sql.NullString{}
	}
	b, _ := json.Marshal(origins) // a []string always encodes
	return sql.NullString{String: string(b), Valid: true}
}

// fromNullOrigins is the inverse of nullOrigins.
func fromNullOrigins(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	out := []string{}
	if err := json.Unmarshal([]byte(v.String), &out); err != nil || out == nil {
		return nil, fmt.Errorf("cors_origins %q is not a JSON array of strings", v.String)
	}
	return out, nil
}
