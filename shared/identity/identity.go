// Package identity holds organizations, users, memberships, roles and API
// keys, and the rules that decide what a role may do.
package identity

import (
	"fmt"
	"regexp"
	"sync"
	"time"
)

// Org is a customer organization. ID is numeric (the bucket-verify API uses
// it in paths); Slug is what the storage-configs API's organization
// parameter names; ExternalID is the stable UUID used as sts:ExternalId.
type Org struct {
	ID         int64     `json:"id"`
	Slug       string    `json:"slug"`
	Name       string    `json:"name"`
	ExternalID string    `json:"external_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// slugRE is compiled on first use, not at init: its counted repetition
// costs a quarter of a millisecond to compile, in the init of every
// function, most of which never check a slug.
var slugRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$`) })

// ValidateSlug reports whether s is a valid org slug: 1-50 characters of
// lower-case letters, digits and inner hyphens.
func ValidateSlug(s string) error {
	if !slugRE().MatchString(s) {
		return fmt.Errorf("slug %q: use 1-50 lower-case letters, digits and inner hyphens", s)
	}
	return nil
}

// User is a principal that owns API keys.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Membership gives a user a role in an org.
type Membership struct {
	UserID string `json:"user_id"`
	OrgID  int64  `json:"org_id"`
	Role   Role   `json:"role"`
}

// APIKey is the stored form of a key: only its SHA-256 hash, never the key.
type APIKey struct {
	ID        string // short public id, safe to log
	Hash      [32]byte
	UserID    string
	CreatedAt time.Time
	RevokedAt time.Time // zero: active
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }
