package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// CreateConnectSession stores cs; a taken hash is AlreadyExists and an
// unknown org NotFound.
func (s *Store) CreateConnectSession(ctx context.Context, cs *connect.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO connect_sessions
		(hash, id, org_id, purpose, created_by, created_at, expires_at, used_at, config_uid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cs.Hash[:], cs.ID, cs.OrgID, string(cs.Purpose), cs.CreatedBy,
		micros(cs.CreatedAt), micros(cs.ExpiresAt), nullMicros(cs.UsedAt), cs.ConfigUID)
	if err != nil {
		return fmt.Errorf("create connect session %s: %w", cs.ID, classify(ctx, err))
	}
	return nil
}

// GetConnectSession returns the session with that token hash.
func (s *Store) GetConnectSession(ctx context.Context, hash [32]byte) (*connect.Session, error) {
	cs := connect.Session{Hash: hash}
	var purpose string
	var created, expires int64
	var used sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT id, org_id, purpose, created_by, created_at, expires_at, used_at, config_uid
		FROM connect_sessions WHERE hash = ?`, hash[:]).
		Scan(&cs.ID, &cs.OrgID, &purpose, &cs.CreatedBy, &created, &expires, &used, &cs.ConfigUID)
	if err != nil {
		return nil, fmt.Errorf("get connect session %s: %w", connect.SessionID(hash), classify(ctx, err))
	}
	cs.Purpose = connect.Purpose(purpose)
	cs.CreatedAt, cs.ExpiresAt, cs.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &cs, nil
}

// CreateConfigForSession marks the session used and creates c in one
// transaction (the session's update, the id sequence and the config's
// row): an unusable session leaves all three untouched.
func (s *Store) CreateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error {
	id := connect.SessionID(hash)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create config %s for connect session %s: %w", c.UID, id, classify(ctx, err))
	}
	defer tx.Rollback() // a no-op after Commit
	res, err := tx.ExecContext(ctx, `UPDATE connect_sessions SET used_at = ?, config_uid = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ? AND org_id = ? AND purpose = ?`,
		micros(now), c.UID, hash[:], micros(now), c.OrgID, string(connect.PurposeCreate))
	if err != nil {
		return fmt.Errorf("create config %s: use connect session %s: %w", c.UID, id, classify(ctx, err))
	}
	switch n, err := res.RowsAffected(); {
	case err != nil:
		return fmt.Errorf("create config %s: use connect session %s: %w", c.UID, id, classify(ctx, err))
	case n == 0:
		return fmt.Errorf("create config %s: connect session %s is used, expired or of another org or purpose: %w",
			c.UID, id, errcode.ErrConflict)
	}
	var cid int64
	if err := tx.QueryRowContext(ctx, `UPDATE sequences SET value = value + 1 WHERE name = 'config_id' RETURNING value`).Scan(&cid); err != nil {
		return fmt.Errorf("create config %s: allocate id: %w", c.UID, classify(ctx, err))
	}
	withID := *c
	withID.ID = cid
	if err := insertConfig(ctx, tx, &withID); err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, classify(ctx, err))
	}
	c.ID = cid
	return nil
}

// UpdateConfigForSession marks the rotate session used and updates c in
// one transaction: an unusable session, or a version that moved, leaves
// both untouched.
func (s *Store) UpdateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error {
	id := connect.SessionID(hash)
	return s.updateConfig(ctx, c, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connect_sessions SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND expires_at > ? AND org_id = ? AND purpose = ? AND config_uid = ?`,
			micros(now), hash[:], micros(now), c.OrgID, string(connect.PurposeRotate), c.UID)
		if err != nil {
			return fmt.Errorf("update config %s: use connect session %s: %w", c.UID, id, classify(ctx, err))
		}
		switch n, err := res.RowsAffected(); {
		case err != nil:
			return fmt.Errorf("update config %s: use connect session %s: %w", c.UID, id, classify(ctx, err))
		case n == 0:
			return fmt.Errorf("update config %s: connect session %s is used, expired or not for this config: %w",
				c.UID, id, errcode.ErrConflict)
		}
		return nil
	})
}
