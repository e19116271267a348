package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

func TestNewKeyFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		key, k, err := NewKey("u1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, KeyPrefix) || len(key) != keyLen {
			t.Fatalf("key %q: wrong shape", key)
		}
		if err := CheckFormat(key); err != nil {
			t.Fatalf("fresh key fails its own checksum: %v", err)
		}
		if k.Hash != HashKey(key) || k.ID != KeyID(k.Hash) || strings.Contains(k.ID, key[4:]) {
			t.Fatalf("stored form wrong: %+v", k)
		}
		if seen[key] {
			t.Fatal("duplicate key")
		}
		seen[key] = true
	}
}

func TestCheckFormatRejects(t *testing.T) {
	key, _, _ := NewKey("u")
	tests := []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"no prefix", "xyz_" + key[4:]},
		{"short", key[:len(key)-1]},
		{"long", key + "A"},
		{"bad checksum", key[:len(key)-1] + string(other(key[len(key)-1]))},
		{"changed body", key[:10] + string(other(key[10])) + key[11:]},
		{"non base62", key[:10] + "-" + key[11:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckFormat(tt.key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("CheckFormat(%q) = %v, want ErrInvalidKey", tt.key, err)
			}
		})
	}
}

func other(b byte) byte {
	if b == 'A' {
		return 'B'
	}
	return 'A'
}

func TestRoleMatrix(t *testing.T) {
	actions := []Action{ActionList, ActionGet, ActionSetupInfo, ActionTest, ActionVerifyBucket, ActionCreate, ActionDelete}
	want := map[Role][]Action{
		RoleViewer:    {ActionList, ActionGet, ActionSetupInfo},
		RoleMember:    {ActionList, ActionGet, ActionSetupInfo, ActionTest, ActionVerifyBucket},
		RoleAdmin:     actions,
		Role("owner"): nil,
		Role(""):      nil,
	}
	for role, allowed := range want {
		for _, a := range actions {
			exp := false
			for _, x := range allowed {
				exp = exp || x == a
			}
			if got := role.Allows(a); got != exp {
				t.Errorf("%q.Allows(%s) = %v, want %v", role, a, got, exp)
			}
		}
	}
	if RoleAdmin.Allows(Action("drop-table")) {
		t.Error("unknown action allowed")
	}
}

type fakeDir struct {
	keys map[[32]byte]*APIKey
	ms   []Membership
}

func (d fakeDir) GetAPIKeyByHash(_ context.Context, h [32]byte) (*APIKey, error) {
	if k, ok := d.keys[h]; ok {
		return k, nil
	}
	return nil, errcode.Wrap(errcode.NotFound, errcode.ErrNotFound, "key")
}

func (d fakeDir) ListMemberships(context.Context, string) ([]Membership, error) { return d.ms, nil }

// TestAuthenticate uses a map-backed directory: the store implementations
// are tested against the real databases in storetest.
func TestAuthenticate(t *testing.T) {
	good, k, _ := NewKey("u1")
	revoked, rk, _ := NewKey("u2")
	rk.RevokedAt = rk.CreatedAt.AddDate(2000, 0, 0)
	unknown, _, _ := NewKey("u3")
	dir := fakeDir{keys: map[[32]byte]*APIKey{k.Hash: k, rk.Hash: rk}, ms: []Membership{{UserID: "u1", OrgID: 7, Role: RoleMember}}}
	p, err := Authenticate(context.Background(), dir, good)
	if err != nil || p.UserID != "u1" {
		t.Fatalf("good key: %v %+v", err, p)
	}
	if r, ok := p.RoleIn(7); !ok || r != RoleMember {
		t.Errorf("RoleIn(7) = %v %v", r, ok)
	}
	if _, ok := p.RoleIn(8); ok {
		t.Error("member of org 8?")
	}
	for _, key := range []string{revoked, unknown, "garbage"} {
		if _, err := Authenticate(context.Background(), dir, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Authenticate(bad) = %v, want ErrInvalidKey", err)
		}
	}
}
