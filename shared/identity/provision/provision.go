// Package provision is the operator's side of identity: creating orgs,
// users, memberships and API keys in a store, and the first-start bootstrap
// of the local process. The operator command and tests call it.
package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/store"
)

// CreateOrg creates an org with a fresh external id.
func CreateOrg(ctx context.Context, s store.Identities, slug, name string) (*identity.Org, error) {
	if err := identity.ValidateSlug(slug); err != nil {
		return nil, err
	}
	if name == "" {
		name = slug
	}
	o := &identity.Org{Slug: slug, Name: name, ExternalID: uuid.NewString(), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.CreateOrg(ctx, o); err != nil {
		return nil, fmt.Errorf("create org %s: %w", slug, err)
	}
	return o, nil
}

// EnsureUser returns the user called name, creating it if needed. An empty
// name creates a fresh user with a generated name.
func EnsureUser(ctx context.Context, s store.Identities, name string) (*identity.User, error) {
	if name == "" {
		name = "user-" + uuid.NewString()[:8]
	}
	u, err := s.GetUserByName(ctx, name)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, errcode.ErrNotFound) {
		return nil, fmt.Errorf("get user %s: %w", name, err)
	}
	u = &identity.User{ID: uuid.NewString(), Name: name, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user %s: %w", name, err)
	}
	return u, nil
}

// AddMember gives the user called userName the role in the org with slug
// orgSlug, creating the user if needed; an existing role is replaced.
func AddMember(ctx context.Context, s store.Identities, userName, orgSlug string, role identity.Role) (*identity.User, *identity.Org, error) {
	o, err := s.GetOrgBySlug(ctx, orgSlug)
	if err != nil {
		return nil, nil, fmt.Errorf("org %s: %w", orgSlug, err)
	}
	u, err := EnsureUser(ctx, s, userName)
	if err != nil {
		return nil, nil, err
	}
	if err := s.PutMembership(ctx, identity.Membership{UserID: u.ID, OrgID: o.ID, Role: role}); err != nil {
		return nil, nil, fmt.Errorf("add %s to %s: %w", u.Name, o.Slug, err)
	}
	return u, o, nil
}

// CreateAPIKey makes the user (created if needed) a member of the org with
// the role and returns a new key for it. The key is returned once; only its
// hash is stored.
func CreateAPIKey(ctx context.Context, s store.Identities, orgSlug string, role identity.Role, userName string) (string, *identity.APIKey, error) {
	u, _, err := AddMember(ctx, s, userName, orgSlug, role)
	if err != nil {
		return "", nil, err
	}
	key, k, err := identity.NewKey(u.ID)
	if err != nil {
		return "", nil, err
	}
	k.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateAPIKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("store API key: %w", err)
	}
	return key, k, nil
}
