package storetest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runIdentities covers orgs, users, memberships and API keys.
func runIdentities(t *testing.T, open opener) {
	t.Run("Orgs", func(t *testing.T) { testOrgs(t, open(t)) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("Memberships", func(t *testing.T) { testMemberships(t, open(t)) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, open(t)) })
}

func testOrgs(t *testing.T, s store.Store) {
	ctx := context.Background()
	zone := time.FixedZone("UTC-3", -3*3600)
	var orgs []*identity.Org
	for i, slug := range []string{"acme", "globex", "initech"} {
		o := &identity.Org{Slug: slug, Name: "Org " + slug, ExternalID: uuid.NewString(),
			CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6000*(i+1), zone)}
		if err := s.CreateOrg(ctx, o); err != nil {
			t.Fatalf("create org %s: %v", slug, err)
		}
		if o.ID <= 0 || (i > 0 && o.ID <= orgs[i-1].ID) {
			t.Fatalf("create org %s: ID %d, want positive and above the previous org's", slug, o.ID)
		}
		orgs = append(orgs, o)
	}
	dup := &identity.Org{Slug: "globex", Name: "Other", ExternalID: uuid.NewString(), CreatedAt: storageconfig.Now()}
	wantCode(t, s.CreateOrg(ctx, dup), errcode.ErrAlreadyExists, "create org with a taken slug")

	for _, want := range orgs {
		byID, err := s.GetOrgByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("get org %d: %v", want.ID, err)
		}
		wantOrg(t, byID, want)
		bySlug, err := s.GetOrgBySlug(ctx, want.Slug)
		if err != nil {
			t.Fatalf("get org %s: %v", want.Slug, err)
		}
		wantOrg(t, bySlug, want)
	}
	got, err := s.GetOrgByID(ctx, orgs[2].ID+100)
	wantCode(t, err, errcode.ErrNotFound, "get missing org by id")
	if got != nil {
		t.Errorf("get missing org by id: got %+v with the error", got)
	}
	got, err = s.GetOrgBySlug(ctx, "no-such-org")
	wantCode(t, err, errcode.ErrNotFound, "get missing org by slug")
	if got != nil {
		t.Errorf("get missing org by slug: got %+v with the error", got)
	}
}

func wantOrg(t *testing.T, got, want *identity.Org) {
	t.Helper()
	if got.ID != want.ID || got.Slug != want.Slug || got.Name != want.Name || got.ExternalID != want.ExternalID ||
		!got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("org:\n got  %+v\n want %+v (CreatedAt in UTC)", got, want)
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(t, s, "alice")
	wantCode(t, s.CreateUser(ctx, &identity.User{ID: uuid.NewString(), Name: "alice", CreatedAt: storageconfig.Now()}),
		errcode.ErrAlreadyExists, "create user with a taken name")
	wantCode(t, s.CreateUser(ctx, &identity.User{ID: u.ID, Name: "alice2", CreatedAt: storageconfig.Now()}),
		errcode.ErrAlreadyExists, "create user with a taken id")
	got, err := s.GetUserByName(ctx, "alice")
	if err != nil {
		t.Fatalf("get user: %v", err)
	}
	if got.ID != u.ID || got.Name != u.Name || !got.CreatedAt.Equal(u.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("user:\n got  %+v\n want %+v (CreatedAt in UTC)", got, u)
	}
	got, err = s.GetUserByName(ctx, "bob")
	wantCode(t, err, errcode.ErrNotFound, "get missing user")
	if got != nil {
		t.Errorf("get missing user: got %+v with the error", got)
	}
}

func newUser(t *testing.T, s store.Store, name string) *identity.User {
	t.Helper()
	u := &identity.User{ID: uuid.NewString(), Name: name, CreatedAt: storageconfig.Now()}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
	o1, o2, o3 := newOrg(t, s), newOrg(t, s), newOrg(t, s)
	puts := []identity.Membership{
		{UserID: alice.ID, OrgID: o1, Role: identity.RoleViewer},
		{UserID: alice.ID, OrgID: o2, Role: identity.RoleMember},
		{UserID: alice.ID, OrgID: o3, Role: identity.RoleAdmin},
		{UserID: bob.ID, OrgID: o2, Role: identity.RoleAdmin},
		{UserID: alice.ID, OrgID: o1, Role: identity.RoleAdmin}, // replaces viewer
	}
	for _, m := range puts {
		if err := s.PutMembership(ctx, m); err != nil {
			t.Fatalf("put membership %+v: %v", m, err)
		}
	}
	tests := []struct {
		name string
		user string
		want []identity.Membership
	}{
		{"several orgs, one replaced", alice.ID, []identity.Membership{puts[4], puts[1], puts[2]}},
		{"one org", bob.ID, []identity.Membership{puts[3]}},
		{"none", uuid.NewString(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListMemberships(ctx, tt.user)
			if err != nil {
				t.Fatalf("list memberships: %v", err)
			}
			byOrg := func(a, b identity.Membership) int { return cmp.Compare(a.OrgID, b.OrgID) }
			got, want := slices.Clone(got), slices.Clone(tt.want)
			slices.SortFunc(got, byOrg)
			slices.SortFunc(want, byOrg)
			if !slices.Equal(got, want) {
				t.Errorf("memberships:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUser(t, s, "carol")
	k := newKey(u.ID)
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("create key: %v", err)
	}
	other := newKey(u.ID)
	if err := s.CreateAPIKey(ctx, other); err != nil {
		t.Fatalf("create second key: %v", err)
	}
	sameHash := newKey(u.ID)
	sameHash.Hash = k.Hash
	wantCode(t, s.CreateAPIKey(ctx, sameHash), errcode.ErrAlreadyExists, "create key with a taken hash")
	sameID := newKey(u.ID)
	sameID.ID = k.ID
	wantCode(t, s.CreateAPIKey(ctx, sameID), errcode.ErrAlreadyExists, "create key with a taken id")

	wantKey(t, s, k)
	got, err := s.GetAPIKeyByHash(ctx, sha256.Sum256([]byte("no such key")))
	wantCode(t, err, errcode.ErrNotFound, "get missing key")
	if got != nil {
		t.Errorf("get missing key: got %+v with the error", got)
	}

	at := time.Date(2025, 7, 8, 9, 10, 11, 121314000, time.FixedZone("UTC+2", 7200))
	if err := s.RevokeAPIKey(ctx, k.ID, at); err != nil {
		t.Fatalf("revoke key: %v", err)
	}
	k.RevokedAt = at
	wantKey(t, s, k)
	wantKey(t, s, other) // untouched
	wantCode(t, s.RevokeAPIKey(ctx, "key_000000000000", at), errcode.ErrNotFound, "revoke missing key")
}

func newKey(userID string) *identity.APIKey {
	h := sha256.Sum256(randomBytes(32))
	return &identity.APIKey{ID: "key_" + hex.EncodeToString(randomBytes(6)), Hash: h, UserID: userID, CreatedAt: storageconfig.Now()}
}

func wantKey(t *testing.T, s store.Store, want *identity.APIKey) {
	t.Helper()
	got, err := s.GetAPIKeyByHash(context.Background(), want.Hash)
	if err != nil {
		t.Fatalf("get key %s: %v", want.ID, err)
	}
	if got.ID != want.ID || got.Hash != want.Hash || got.UserID != want.UserID ||
		!got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		!got.RevokedAt.Equal(want.RevokedAt) || got.RevokedAt.Location() != time.UTC || got.Revoked() != want.Revoked() {
		t.Errorf("key:\n got  %+v\n want %+v (times in UTC)", got, want)
	}
}
