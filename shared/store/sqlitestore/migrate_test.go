package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestMigrateFromVersion1 opens a database written by the first schema
// (before verification records): it is migrated in place, keeps its data,
// and stores verifications.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		migrations[0],
		`INSERT INTO orgs (slug, name, external_id, created_at) VALUES ('acme', 'Acme', 'ext', 1)`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("write a version 1 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 1 database: %v", err)
	}
	defer s.Close()
	var version int
	if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) || version < 2 {
		t.Errorf("schema version after open: %d, want %d", version, len(migrations))
	}
	if _, err := s.GetOrgBySlug(ctx, "acme"); err != nil {
		t.Errorf("the org of the version 1 database: %v", err)
	}
	r := verify.NewRecord(storageconfig.Now(), "k", 1, verify.Request{Provider: "s3", Bucket: "b"}, nil, 0)
	if err := s.CreateVerification(ctx, r); err != nil {
		t.Fatalf("create a verification after migrating: %v", err)
	}
	if _, err := s.GetVerification(ctx, "k"); err != nil {
		t.Fatalf("get a verification after migrating: %v", err)
	}
	org := &identity.Org{Slug: "second", CreatedAt: storageconfig.Now()}
	if err := s.CreateOrg(ctx, org); err != nil || org.ID != 2 {
		t.Errorf("create an org after migrating: id %d, %v; want id 2", org.ID, err)
	}
}
