package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runConfigs covers create, get and delete.
func runConfigs(t *testing.T, open opener) {
	t.Run("RoundTrip", func(t *testing.T) {
		tests := []struct {
			name  string
			build func(t *testing.T, org int64) *storageconfig.Config
		}{
			{"every field set", fullConfig},
			{"aws_s3 settings", withSettings(s3.NameAWS)},
			{"gc_storage settings", withSettings(gcs.Name)},
			{"azure_blob settings", withSettings(azure.Name)},
			{"azure_blob service principal", func(t *testing.T, org int64) *storageconfig.Config {
				c := withSettings(azure.Name)(t, org)
				c.Settings = &azure.Settings{Account: "acmestorage", Container: "datasets", KeyPrefix: "sp/",
					Endpoint: "https://acmestorage.blob.core.chinacloudapi.cn/", Auth: azure.AuthServicePrincipal,
					TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "00000000-0000-4000-8000-000000000003"}
				return c
			}},
			{"never verified", func(_ *testing.T, org int64) *storageconfig.Config { return NewConfig(org) }},
			{"read only aws_s3", func(t *testing.T, org int64) *storageconfig.Config {
				c := withSettings(s3.NameAWS)(t, org)
				c.AccessMode = storageconfig.AccessReadOnly
				return c
			}},
			{"no CORS origins", func(_ *testing.T, org int64) *storageconfig.Config {
				c := NewConfig(org)
				c.CORSOrigins = []string{} // none, unlike nil (the operator's)
				return c
			}},
			{"empty sealed", func(_ *testing.T, org int64) *storageconfig.Config {
				c := NewConfig(org)
				c.Sealed = nil
				return c
			}},
		}
		s := open(t)
		org := newOrg(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.build(t, org)
				want := clone(c)
				mustCreate(t, s, c)
				if c.ID <= 0 {
					t.Errorf("CreateConfig set ID %d, want a positive id", c.ID)
				}
				want.ID = c.ID
				if !reflect.DeepEqual(c, want) {
					t.Errorf("CreateConfig changed its argument beyond its ID:\n got  %+v\n want %+v", c, want)
				}
				got := mustGet(t, s, c.UID)
				wantConfig(t, got, want) // zero LastVerifiedAt stays zero
			})
		}
	})

	t.Run("IntegerIDs", func(t *testing.T) { testIntegerIDs(t, open(t)) })

	t.Run("CreateDuplicateUID", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		c := NewConfig(org)
		mustCreate(t, s, c)
		dup := NewConfig(org)
		dup.UID = c.UID
		dup.Name = "the second one"
		err := s.CreateConfig(context.Background(), dup)
		wantCode(t, err, errcode.ErrAlreadyExists, "create duplicate uid")
		wantConfig(t, mustGet(t, s, c.UID), c)
	})

	t.Run("GetMissing", func(t *testing.T) {
		s := open(t)
		got, err := s.GetConfig(context.Background(), uuid.NewString())
		wantCode(t, err, errcode.ErrNotFound, "get missing config")
		if got != nil {
			t.Errorf("get missing config: got %+v with the error, want nil", got)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		c, keep := NewConfig(org), NewConfig(org)
		mustCreate(t, s, c, keep)
		if err := s.DeleteConfig(context.Background(), org, c.UID); err != nil {
			t.Fatalf("delete config: %v", err)
		}
		_, err := s.GetConfig(context.Background(), c.UID)
		wantCode(t, err, errcode.ErrNotFound, "get deleted config")
		err = s.DeleteConfig(context.Background(), org, c.UID)
		wantCode(t, err, errcode.ErrNotFound, "delete it again")
		wantConfig(t, mustGet(t, s, keep.UID), keep)
		page := mustList(t, s, org, store.ListOptions{Limit: 10})
		if len(page.Items) != 1 || page.Items[0].UID != keep.UID {
			t.Errorf("list after delete: got %v, want only %s", uids(page.Items), keep.UID)
		}
	})

	t.Run("DeleteMissing", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		err := s.DeleteConfig(context.Background(), org, uuid.NewString())
		wantCode(t, err, errcode.ErrNotFound, "delete missing config")
	})

	t.Run("DeleteWrongOrg", func(t *testing.T) {
		s := open(t)
		org, other := newOrg(t, s), newOrg(t, s)
		c := NewConfig(org)
		mustCreate(t, s, c)
		err := s.DeleteConfig(context.Background(), other, c.UID)
		wantCode(t, err, errcode.ErrNotFound, "delete with another org's id")
		wantConfig(t, mustGet(t, s, c.UID), c)
	})
}

// testCancelledContext checks that every method refuses a cancelled ctx and,
// for writes, writes nothing.
func testCancelledContext(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	existing := NewConfig(org)
	mustCreate(t, s, existing)
	fresh := NewConfig(org)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"CreateConfig", func(ctx context.Context) error { return s.CreateConfig(ctx, fresh) }},
		{"GetConfig", func(ctx context.Context) error { _, err := s.GetConfig(ctx, existing.UID); return err }},
		{"ListConfigs", func(ctx context.Context) error {
			_, err := s.ListConfigs(ctx, org, store.ListOptions{Limit: 10})
			return err
		}},
		{"UpdateConfig", func(ctx context.Context) error {
			c := clone(existing)
			c.Name = "renamed"
			return s.UpdateConfig(ctx, c)
		}},
		{"DeleteConfig", func(ctx context.Context) error { return s.DeleteConfig(ctx, org, existing.UID) }},
		{"GetOrgByID", func(ctx context.Context) error { _, err := s.GetOrgByID(ctx, org); return err }},
		{"ListMemberships", func(ctx context.Context) error { _, err := s.ListMemberships(ctx, "nobody"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctx)
			if err == nil {
				t.Fatalf("%s with a cancelled ctx: got nil error", tt.name)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled ctx: got %v, want an error matching context.Canceled", tt.name, err)
			}
		})
	}
	if _, err := s.GetConfig(context.Background(), fresh.UID); !errors.Is(err, errcode.ErrNotFound) {
		t.Errorf("CreateConfig with a cancelled ctx wrote the config (get: %v)", err)
	}
	wantConfig(t, mustGet(t, s, existing.UID), existing)
}

// testIntegerIDs checks the integer ids CreateConfig assigns: unique across
// orgs, increasing, stable through updates, found by GetConfigByID in any
// org, and never reused after a delete.
func testIntegerIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	org, other := newOrg(t, s), newOrg(t, s)
	var cs []*storageconfig.Config
	seen := map[int64]string{}
	var last int64
	for i := range 6 {
		c := NewConfig(org)
		if i%2 == 1 {
			c = NewConfig(other)
		}
		c.ID = 0
		mustCreate(t, s, c)
		if c.ID <= last {
			t.Fatalf("config %d got id %d after %d: ids must increase", i, c.ID, last)
		}
		if uid, dup := seen[c.ID]; dup {
			t.Fatalf("id %d given to %s and %s", c.ID, uid, c.UID)
		}
		seen[c.ID], last = c.UID, c.ID
		cs = append(cs, c)
	}
	for _, c := range cs {
		got, err := s.GetConfigByID(ctx, c.ID)
		if err != nil {
			t.Fatalf("get config #%d: %v", c.ID, err)
		}
		wantConfig(t, got, c)
	}
	// An update keeps the id.
	c := mustGet(t, s, cs[0].UID)
	c.Name = "renamed"
	if err := s.UpdateConfig(ctx, c); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := mustGet(t, s, c.UID); got.ID != cs[0].ID {
		t.Errorf("after an update the id is %d, want %d", got.ID, cs[0].ID)
	}
	// A deleted config's id is not found, and not given again.
	if err := s.DeleteConfig(ctx, org, cs[0].UID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := s.GetConfigByID(ctx, cs[0].ID)
	wantCode(t, err, errcode.ErrNotFound, "get deleted config by id")
	_, err = s.GetConfigByID(ctx, last+1000)
	wantCode(t, err, errcode.ErrNotFound, "get unknown id")
	fresh := NewConfig(org)
	mustCreate(t, s, fresh)
	if fresh.ID <= last {
		t.Errorf("a config created after a delete got id %d, not above %d", fresh.ID, last)
	}
}

// withSettings builds a config of provider p with every settings field set.
func withSettings(p string) func(t *testing.T, org int64) *storageconfig.Config {
	return func(t *testing.T, org int64) *storageconfig.Config {
		c := fullConfig(t, org)
		c.Provider, c.Settings = storageconfig.Provider(p), providerSettings()[p]
		return c
	}
}
