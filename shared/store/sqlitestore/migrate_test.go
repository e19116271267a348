package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
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
	r := verification.NewRecord(storageconfig.Now(), "k", 1, verification.Request{Provider: "s3", Bucket: "b"}, nil, 0)
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

// TestMigrateNumbersExistingConfigs opens a database of schema version 4
// (before integer ids) holding three configs: they are numbered 1, 2, 3 in
// creation order, and the next config created gets 4.
func TestMigrateNumbersExistingConfigs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := append([]string{}, migrations[:4]...)
	stmts = append(stmts, `INSERT INTO orgs (slug, name, external_id, created_at) VALUES ('acme', 'Acme', 'ext', 1)`)
	// Inserted out of creation order, so that the numbering must sort.
	for _, row := range []struct {
		uid     string
		created int64
	}{{"cccccccc-0000-4000-8000-000000000000", 30}, {"aaaaaaaa-0000-4000-8000-000000000000", 10}, {"bbbbbbbb-0000-4000-8000-000000000000", 20}} {
		stmts = append(stmts, `INSERT INTO configs (uid, org_id, name, provider, s3_bucket_name, s3_bucket_region,
			s3_bucket_prefix, s3_is_accelerated, s3_cloudfront_domain, s3_cloudfront_public_key_id, s3_auth_method,
			s3_role_arn, s3_endpoint_url, s3_use_path_style, is_verified, created_at, updated_at, version)
			VALUES ('`+row.uid+`', 1, 'c', 'aws_s3', 'b', 'us-east-1', '', 0, '', '', 'access_key', '', '', 0, 0, `+
			strconv.FormatInt(row.created, 10)+`, 1, 1)`)
	}
	stmts = append(stmts, `PRAGMA user_version = 4`)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("write a version 4 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 4 database: %v", err)
	}
	defer s.Close()
	for id, uid := range map[int64]string{1: "aaaaaaaa-0000-4000-8000-000000000000", 2: "bbbbbbbb-0000-4000-8000-000000000000", 3: "cccccccc-0000-4000-8000-000000000000"} {
		c, err := s.GetConfigByID(ctx, id)
		if err != nil || c.UID != uid || c.ID != id {
			t.Errorf("config #%d after migrating: %+v, %v; want %s", id, c, err, uid)
		}
	}
	c := &storageconfig.Config{UID: "dddddddd-0000-4000-8000-000000000000", OrgID: 1, Name: "new", Provider: s3.NameAWS,
		Settings:  &s3.Settings{BucketName: "b", Region: "us-east-1", Auth: s3.AuthAccessKey},
		CreatedAt: storageconfig.Now(), UpdatedAt: storageconfig.Now(), Version: 1}
	if err := s.CreateConfig(ctx, c); err != nil || c.ID != 4 {
		t.Errorf("create after migrating: id %d, %v; want 4", c.ID, err)
	}
}
