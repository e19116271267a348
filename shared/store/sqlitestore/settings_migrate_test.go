package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// TestMigrateSettingsToDocument opens a database file written by schema
// version 7, the last with a column per provider field, holding a config
// of every provider and auth method, written with that schema's own SQL
// (the INSERT of its configs table, as the store of version 7 wrote it).
// Migration 8 turns each row's provider columns into its settings document
// and drops the columns: every config reads back with the same settings,
// the table has no provider column left, and updates and creates work.
func TestMigrateSettingsToDocument(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v7.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := append([]string{}, migrations[:7]...)
	stmts = append(stmts, `INSERT INTO orgs (slug, name, external_id, created_at) VALUES ('acme', 'Acme', 'ext', 1)`)
	// The columns and their order are those of configColumns at version 7.
	const insert = `INSERT INTO configs (uid, id, org_id, name, provider,
	s3_bucket_name, s3_bucket_region, s3_bucket_prefix, s3_is_accelerated,
	s3_cloudfront_domain, s3_cloudfront_public_key_id, s3_auth_method, s3_role_arn,
	s3_endpoint_url, s3_use_path_style, is_verified, last_verified_at,
	created_at, updated_at, version, sealed,
	gc_storage_bucket_name, gc_storage_prefix, gc_storage_auth_method,
	azure_account_name, azure_container_name, azure_prefix, azure_endpoint_url,
	reverify_interval_s, next_reverify_at, reverify_failures) VALUES `
	rows := []string{
		`('11111111-0000-4000-8000-000000000000', 1, 1, 'aws key', 'aws_s3', 'acme-aws', 'us-west-2', 'data/', 1,
			'd111111abcdef8.cloudfront.net', 'K2JCJMDEHXQW5F', 'access_key', '', '', 0, 1, 5, 1, 2, 3, x'01',
			'', '', '', '', '', '', '', 3600, 99, 0)`,
		`('22222222-0000-4000-8000-000000000000', 2, 1, 'aws role', 'aws_s3', 'acme-role', 'eu-west-1', '', 0,
			'', '', 'iam_role', 'arn:aws:iam::123456789012:role/r', '', 0, 0, NULL, 2, 2, 1, x'02',
			'', '', '', '', '', '', '', 0, NULL, 2)`,
		`('33333333-0000-4000-8000-000000000000', 3, 1, 'minio', 's3_compatible', 'data', '', 'm/', 0,
			'', '', 'access_key', '', 'https://minio.example.com', 1, 1, 5, 3, 3, 1, x'03',
			'', '', '', '', '', '', '', 3600, 99, 0)`,
		`('44444444-0000-4000-8000-000000000000', 4, 1, 'gcs sa', 'gc_storage', '', '', '', 0,
			'', '', '', '', '', 0, 1, 5, 4, 4, 1, x'04',
			'acme-gcs', 'g/', 'service_account', '', '', '', '', 3600, 99, 0)`,
		`('55555555-0000-4000-8000-000000000000', 5, 1, 'gcs hmac', 'gc_storage', '', '', '', 0,
			'', '', '', '', '', 0, 1, 5, 5, 5, 1, x'05',
			'acme-hmac', '', 'hmac', '', '', '', '', 3600, 99, 0)`,
		`('66666666-0000-4000-8000-000000000000', 6, 1, 'azure', 'azure_blob', '', '', '', 0,
			'', '', '', '', '', 0, 1, 5, 6, 6, 1, x'06',
			'', '', '', 'acmestore', 'datasets', 'a/', 'https://acmestore.blob.core.windows.net/', 3600, 99, 0)`,
	}
	for _, r := range rows {
		stmts = append(stmts, insert+r)
	}
	stmts = append(stmts, `UPDATE sequences SET value = 6 WHERE name = 'config_id'`, `PRAGMA user_version = 7`)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("write a version 7 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 7 database: %v", err)
	}
	defer s.Close()
	want := map[string]storageconfig.Settings{
		"11111111-0000-4000-8000-000000000000": &s3.Settings{BucketName: "acme-aws", Region: "us-west-2", KeyPrefix: "data/",
			Accelerate: true, CloudfrontDomain: "d111111abcdef8.cloudfront.net", CloudfrontPublicKeyID: "K2JCJMDEHXQW5F", Auth: s3.AuthAccessKey},
		"22222222-0000-4000-8000-000000000000": &s3.Settings{BucketName: "acme-role", Region: "eu-west-1", Auth: s3.AuthIAMRole,
			RoleARN: "arn:aws:iam::123456789012:role/r"},
		"33333333-0000-4000-8000-000000000000": &s3.Settings{Compatible: true, BucketName: "data", KeyPrefix: "m/", Auth: s3.AuthAccessKey,
			Endpoint: "https://minio.example.com", UsePathStyle: true},
		"44444444-0000-4000-8000-000000000000": &gcs.Settings{BucketName: "acme-gcs", KeyPrefix: "g/", Auth: gcs.AuthServiceAccount},
		"55555555-0000-4000-8000-000000000000": &gcs.Settings{BucketName: "acme-hmac", Auth: gcs.AuthHMAC},
		"66666666-0000-4000-8000-000000000000": &azure.Settings{Account: "acmestore", Container: "datasets", KeyPrefix: "a/",
			Endpoint: "https://acmestore.blob.core.windows.net/"},
	}
	for uid, w := range want {
		c, err := s.GetConfig(ctx, uid)
		if err != nil {
			t.Fatalf("config %s after migrating: %v", uid, err)
		}
		if !reflect.DeepEqual(c.Settings, w) {
			t.Errorf("config %s settings = %#v, want %#v", uid, c.Settings, w)
		}
		if len(c.Sealed) != 1 || c.Version == 0 {
			t.Errorf("config %s lost its row: %+v", uid, c)
		}
		// An update writes the document back.
		c.Name = "renamed"
		if err := s.UpdateConfig(ctx, c); err != nil {
			t.Fatalf("update %s after migrating: %v", uid, err)
		}
		again, err := s.GetConfig(ctx, uid)
		if err != nil || !reflect.DeepEqual(again.Settings, w) || again.Name != "renamed" {
			t.Errorf("config %s after an update: %+v, %v", uid, again, err)
		}
	}
	var cols int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('configs')
		WHERE name LIKE 's3\_%' ESCAPE '\' OR name LIKE 'gc\_storage\_%' ESCAPE '\' OR name LIKE 'azure\_%' ESCAPE '\'`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if cols != 0 {
		t.Errorf("%d provider columns are left in configs, want none", cols)
	}
	c := &storageconfig.Config{UID: "77777777-0000-4000-8000-000000000000", OrgID: 1, Name: "new", Provider: gcs.Name,
		Settings: &gcs.Settings{BucketName: "new-gcs", Auth: gcs.AuthHMAC}, CreatedAt: storageconfig.Now(), UpdatedAt: storageconfig.Now(), Version: 1}
	if err := s.CreateConfig(ctx, c); err != nil || c.ID != 7 {
		t.Errorf("create after migrating: id %d, %v; want 7", c.ID, err)
	}
}
