package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
)

// CreateOrg assigns o.ID (increasing, never reused) and stores o.
func (s *Store) CreateOrg(ctx context.Context, o *identity.Org) error {
	err := s.w.QueryRowContext(ctx, `INSERT INTO orgs (slug, name, external_id, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`, o.Slug, o.Name, o.ExternalID, micros(o.CreatedAt)).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("create org %q: %w", o.Slug, classify(ctx, err))
	}
	return nil
}

// GetOrgByID returns the org with that ID.
func (s *Store) GetOrgByID(ctx context.Context, id int64) (*identity.Org, error) {
	o, err := s.getOrg(ctx, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("get org %d: %w", id, err)
	}
	return o, nil
}

// GetOrgBySlug returns the org with that slug.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (*identity.Org, error) {
	o, err := s.getOrg(ctx, `slug = ?`, slug)
	if err != nil {
		return nil, fmt.Errorf("get org %q: %w", slug, err)
	}
	return o, nil
}

func (s *Store) getOrg(ctx context.Context, where string, arg any) (*identity.Org, error) {
	var o identity.Org
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, slug, name, external_id, created_at FROM orgs WHERE `+where, arg).
		Scan(&o.ID, &o.Slug, &o.Name, &o.ExternalID, &created)
	if err != nil {
		return nil, classify(ctx, err)
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// CreateUser stores u; its ID and name are unique.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)`,
		u.ID, u.Name, micros(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, classify(ctx, err))
	}
	return nil
}

// GetUserByName returns the user with that name.
func (s *Store) GetUserByName(ctx context.Context, name string) (*identity.User, error) {
	var u identity.User
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &created)
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", name, classify(ctx, err))
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// PutMembership creates or replaces the user's role in the org. The user and
// the org must exist (NotFound otherwise).
func (s *Store) PutMembership(ctx context.Context, m identity.Membership) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO memberships (user_id, org_id, role) VALUES (?, ?, ?)
		ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role`, m.UserID, m.OrgID, string(m.Role))
	if err != nil {
		return fmt.Errorf("put membership of user %s in org %d: %w", m.UserID, m.OrgID, classify(ctx, err))
	}
	return nil
}

// ListMemberships returns every membership of a user, ordered by org ID; a
// user with none (or no such user) gets an empty list.
func (s *Store) ListMemberships(ctx context.Context, userID string) ([]identity.Membership, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT org_id, role FROM memberships WHERE user_id = ? ORDER BY org_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list memberships of user %s: %w", userID, classify(ctx, err))
	}
	defer rows.Close()
	var out []identity.Membership
	for rows.Next() {
		m := identity.Membership{UserID: userID}
		var role string
		if err := rows.Scan(&m.OrgID, &role); err != nil {
			return nil, fmt.Errorf("list memberships of user %s: %w", userID, classify(ctx, err))
		}
		m.Role = identity.Role(role)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list memberships of user %s: %w", userID, classify(ctx, err))
	}
	return out, nil
}

// CreateAPIKey stores k; its ID and hash are unique and its user must exist.
func (s *Store) CreateAPIKey(ctx context.Context, k *identity.APIKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_keys (id, hash, user_id, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?)`, k.ID, k.Hash[:], k.UserID, micros(k.CreatedAt), nullMicros(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, classify(ctx, err))
	}
	return nil
}

// GetAPIKeyByHash returns the key with that SHA-256 hash, revoked or not.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash [32]byte) (*identity.APIKey, error) {
	var k identity.APIKey
	var h []byte
	var created int64
	var revoked sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT id, hash, user_id, created_at, revoked_at FROM api_keys WHERE hash = ?`, hash[:]).
		Scan(&k.ID, &h, &k.UserID, &created, &revoked)
	if err != nil {
		// The hash identifies a secret; only its public form is named.
		return nil, fmt.Errorf("get API key %s: %w", identity.KeyID(hash), classify(ctx, err))
	}
	if copy(k.Hash[:], h) != len(k.Hash) || len(h) != len(k.Hash) {
		return nil, fmt.Errorf("get API key %s: stored hash has %d bytes", k.ID, len(h))
	}
	k.CreatedAt, k.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return &k, nil
}

// RevokeAPIKey marks the key with that id revoked at the given time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, nullMicros(at), id)
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, classify(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke API key %s: %w", id, errcode.New(errcode.NotFound, "API key not found"))
	}
	return nil
}
