// Package store defines the persistence interfaces of bucketlink. Two
// implementations exist (sqlitestore for the local process, and DynamoDB on
// AWS); package storetest is the conformance suite both must pass.
//
// Contract, for every method:
//   - a missing item is an error matching errcode.ErrNotFound, never (nil, nil);
//   - a create that collides returns an error matching errcode.ErrAlreadyExists;
//   - an update whose Version does not match the stored one returns an error
//     matching errcode.ErrConflict and writes nothing;
//   - every method honours ctx.
package store

import (
	"context"
	"time"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Position is a point in an org's newest-first ordering of configs:
// (CreatedAt desc, UID desc). Cursors encode a Position.
type Position struct {
	CreatedAt time.Time
	UID       string
}

// PositionOf returns the position of c.
func PositionOf(c *storageconfig.Config) Position {
	return Position{CreatedAt: c.CreatedAt, UID: c.UID}
}

// ListOptions selects one page of an org's configs.
type ListOptions struct {
	// Limit is the page size, 1..1000.
	Limit int
	// After, when set, returns the configs strictly older than After (the
	// next page). Before, when set, returns the configs strictly newer than
	// Before (the previous page). At most one is set.
	After  *Position
	Before *Position
}

// Page is one page of configs, always ordered newest first.
type Page struct {
	Items []*storageconfig.Config
	// More reports whether further items exist beyond this page in the
	// direction of travel: older ones for a forward page (or the first),
	// newer ones for a Before page.
	More bool
}

// Configs persists storage configs.
type Configs interface {
	// CreateConfig stores c, which has UID, OrgID, timestamps and Version 1
	// set, and sets c.ID to the config's integer id: the next value of one
	// sequence global to the store, never reused, allocated atomically
	// (no scan). A create that fails may consume an id.
	CreateConfig(ctx context.Context, c *storageconfig.Config) error
	// GetConfig returns the config with uid, in any org.
	GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error)
	// GetConfigByID returns the config with the integer id, in any org.
	GetConfigByID(ctx context.Context, id int64) (*storageconfig.Config, error)
	// ListConfigs returns a page of orgID's configs, newest first.
	ListConfigs(ctx context.Context, orgID int64, opts ListOptions) (Page, error)
	// UpdateConfig replaces the stored config if its stored Version equals
	// c.Version, and then sets c.Version to c.Version+1.
	UpdateConfig(ctx context.Context, c *storageconfig.Config) error
	// DeleteConfig removes the config and its sealed credentials for good.
	DeleteConfig(ctx context.Context, orgID int64, uid string) error
}

// Identities persists organizations, users, memberships and API keys.
type Identities interface {
	// CreateOrg assigns o.ID and stores o; the slug is unique.
	CreateOrg(ctx context.Context, o *identity.Org) error
	GetOrgByID(ctx context.Context, id int64) (*identity.Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (*identity.Org, error)

	// CreateUser stores u; the name is unique.
	CreateUser(ctx context.Context, u *identity.User) error
	GetUserByName(ctx context.Context, name string) (*identity.User, error)

	// PutMembership creates or replaces the user's role in the org.
	PutMembership(ctx context.Context, m identity.Membership) error
	// ListMemberships returns every membership of a user, in any order.
	ListMemberships(ctx context.Context, userID string) ([]identity.Membership, error)

	// CreateAPIKey stores k; the hash is unique.
	CreateAPIKey(ctx context.Context, k *identity.APIKey) error
	// GetAPIKeyByHash returns the key with that SHA-256 hash, revoked or not.
	GetAPIKeyByHash(ctx context.Context, hash [32]byte) (*identity.APIKey, error)
	// RevokeAPIKey marks the key with that id revoked at the given time.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// Store is everything the service persists.
type Store interface {
	Configs
	Identities
	Verifications
	VerificationSlots
	Schedules
	ConnectSessions
	Close() error
}
