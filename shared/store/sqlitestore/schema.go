package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] moves the schema from version i to i+1; PRAGMA user_version
// holds the current version. Append, never edit.
var migrations = []string{
	`
CREATE TABLE orgs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	slug        TEXT    NOT NULL UNIQUE,
	name        TEXT    NOT NULL,
	external_id TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
	user_id TEXT    NOT NULL REFERENCES users (id),
	org_id  INTEGER NOT NULL REFERENCES orgs (id),
	role    TEXT    NOT NULL,
	PRIMARY KEY (user_id, org_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX memberships_org ON memberships (org_id);

CREATE TABLE api_keys (
	id         TEXT    PRIMARY KEY,
	hash       BLOB    NOT NULL UNIQUE,
	user_id    TEXT    NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;

CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE configs (
	uid                         TEXT    PRIMARY KEY,
	org_id                      INTEGER NOT NULL REFERENCES orgs (id),
	name                        TEXT    NOT NULL,
	provider                    TEXT    NOT NULL,
	s3_bucket_name              TEXT    NOT NULL,
	s3_bucket_region            TEXT    NOT NULL,
	s3_bucket_prefix            TEXT    NOT NULL,
	s3_is_accelerated           INTEGER NOT NULL,
	s3_cloudfront_domain        TEXT    NOT NULL,
	s3_cloudfront_public_key_id TEXT    NOT NULL,
	s3_auth_method              TEXT    NOT NULL,
	s3_role_arn                 TEXT    NOT NULL,
	s3_endpoint_url             TEXT    NOT NULL,
	s3_use_path_style           INTEGER NOT NULL,
	is_verified                 INTEGER NOT NULL,
	last_verified_at            INTEGER,
	created_at                  INTEGER NOT NULL,
	updated_at                  INTEGER NOT NULL,
	version                     INTEGER NOT NULL,
	sealed                      BLOB
) STRICT;

-- Listing an org newest first is a range scan of this index.
CREATE INDEX configs_org_created ON configs (org_id, created_at DESC, uid DESC);
`,
	// 2: verification records (see verifications.go). No foreign key to
	// orgs: a record is short-lived and swept, and the DynamoDB store does
	// not check either.
	`
CREATE TABLE verifications (
	key          TEXT    PRIMARY KEY,
	org_id       INTEGER NOT NULL,
	state        TEXT    NOT NULL,
	status_since INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	deadline     INTEGER NOT NULL,
	lease_owner  TEXT    NOT NULL,
	lease_until  INTEGER,
	request      TEXT    NOT NULL,
	sealed       BLOB,
	events       TEXT    NOT NULL,
	result       TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;

-- The sweep deletes a range of this index.
CREATE INDEX verifications_expires ON verifications (expires_at);
`,
	// 3: the fields of gc_storage and azure_blob configs.
	`
ALTER TABLE configs ADD COLUMN gc_storage_bucket_name TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN gc_storage_prefix      TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN gc_storage_auth_method TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN azure_account_name     TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN azure_container_name   TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN azure_prefix           TEXT NOT NULL DEFAULT '';
ALTER TABLE configs ADD COLUMN azure_endpoint_url     TEXT NOT NULL DEFAULT '';
`,
	// 4: re-verification (see schedules.go). Existing configs re-verify
	// hourly (storageconfig.DefaultReverifyInterval), first due an hour
	// after their last verification. The schedule's index holds only the
	// configs with a next-due time; the history goes with its config.
	`
ALTER TABLE configs ADD COLUMN reverify_interval_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE configs ADD COLUMN next_reverify_at    INTEGER;
ALTER TABLE configs ADD COLUMN reverify_failures   INTEGER NOT NULL DEFAULT 0;

UPDATE configs SET reverify_interval_s = 3600,
	next_reverify_at = COALESCE(last_verified_at, created_at) + 3600000000;

-- DueConfigs is a range scan of this index.
CREATE INDEX configs_due ON configs (next_reverify_at, uid) WHERE next_reverify_at IS NOT NULL;

CREATE TABLE config_verifications (
	config_uid   TEXT    NOT NULL REFERENCES configs (uid) ON DELETE CASCADE,
	seq          INTEGER NOT NULL,
	org_id       INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	verified     INTEGER NOT NULL,
	trigger_kind TEXT    NOT NULL,
	checks       TEXT    NOT NULL,
	PRIMARY KEY (config_uid, seq)
) STRICT, WITHOUT ROWID;
`,
	// 5: the integer id of each config (what the bucket-verify API calls
	// bucketId), from one global sequence that never goes back, so an id
	// is never reused after a delete. Existing configs are numbered in
	// creation order.
	`
ALTER TABLE configs ADD COLUMN id INTEGER;

UPDATE configs SET id = n.seq FROM (
	SELECT uid, ROW_NUMBER() OVER (ORDER BY created_at, uid) AS seq FROM configs
) AS n WHERE configs.uid = n.uid;

CREATE UNIQUE INDEX configs_id ON configs (id);

CREATE TABLE sequences (
	name  TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO sequences (name, value) VALUES ('config_id', (SELECT COALESCE(MAX(id), 0) FROM configs));
`,
	// 6: the per-org bound on running bucket verifications (slots.go),
	// and the journal that makes the in-process queue durable
	// (journal.go).
	`
CREATE TABLE verification_slots (
	org_id INTEGER NOT NULL,
	key    TEXT    NOT NULL,
	until  INTEGER NOT NULL,
	PRIMARY KEY (org_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE queue_journal (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	grp        TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	recoveries INTEGER NOT NULL
) STRICT;
`,
	// 7: connect sessions (connect.go), by the SHA-256 of their token.
	`
CREATE TABLE connect_sessions (
	hash       BLOB    PRIMARY KEY,
	id         TEXT    NOT NULL,
	org_id     INTEGER NOT NULL REFERENCES orgs (id),
	purpose    TEXT    NOT NULL,
	created_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	config_uid TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
`,
	// 8: a provider's settings are one JSON document per config (the
	// provider's package reads it; see storageconfig.EncodeSettings), so
	// the table holds no provider columns. Each existing row's document is
	// made of the columns of its provider as they were (the fields of the
	// API, by their wire names), and those columns are dropped.
	`
ALTER TABLE configs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

UPDATE configs SET settings = CASE provider
	WHEN 'aws_s3' THEN json_object(
		's3_bucket_name', s3_bucket_name, 's3_bucket_region', s3_bucket_region,
		's3_bucket_prefix', s3_bucket_prefix,
		's3_is_accelerated', CASE WHEN s3_is_accelerated THEN json('true') ELSE json('false') END,
		's3_cloudfront_domain', s3_cloudfront_domain, 's3_cloudfront_public_key_id', s3_cloudfront_public_key_id,
		's3_auth_method', s3_auth_method, 's3_role_arn', s3_role_arn)
	WHEN 's3_compatible' THEN json_object(
		's3_bucket_name', s3_bucket_name, 's3_bucket_region', s3_bucket_region,
		's3_bucket_prefix', s3_bucket_prefix, 's3_auth_method', s3_auth_method, 's3_role_arn', s3_role_arn,
		's3_endpoint_url', s3_endpoint_url,
		's3_use_path_style', CASE WHEN s3_use_path_style THEN json('true') ELSE json('false') END)
	WHEN 'gc_storage' THEN json_object(
		'gc_storage_bucket_name', gc_storage_bucket_name, 'gc_storage_prefix', gc_storage_prefix,
		'gc_storage_auth_method', gc_storage_auth_method)
	WHEN 'azure_blob' THEN json_object(
		'azure_account_name', azure_account_name, 'azure_container_name', azure_container_name,
		'azure_prefix', azure_prefix, 'azure_endpoint_url', azure_endpoint_url)
	ELSE '{}' END;

ALTER TABLE configs DROP COLUMN s3_bucket_name;
ALTER TABLE configs DROP COLUMN s3_bucket_region;
ALTER TABLE configs DROP COLUMN s3_bucket_prefix;
ALTER TABLE configs DROP COLUMN s3_is_accelerated;
ALTER TABLE configs DROP COLUMN s3_cloudfront_domain;
ALTER TABLE configs DROP COLUMN s3_cloudfront_public_key_id;
ALTER TABLE configs DROP COLUMN s3_auth_method;
ALTER TABLE configs DROP COLUMN s3_role_arn;
ALTER TABLE configs DROP COLUMN s3_endpoint_url;
ALTER TABLE configs DROP COLUMN s3_use_path_style;
ALTER TABLE configs DROP COLUMN gc_storage_bucket_name;
ALTER TABLE configs DROP COLUMN gc_storage_prefix;
ALTER TABLE configs DROP COLUMN gc_storage_auth_method;
ALTER TABLE configs DROP COLUMN azure_account_name;
ALTER TABLE configs DROP COLUMN azure_container_name;
ALTER TABLE configs DROP COLUMN azure_prefix;
ALTER TABLE configs DROP COLUMN azure_endpoint_url;
`,
	// 9: a config's own app origins (cors_origins): a JSON array, or NULL
	// when the config uses the operator's.
	`
ALTER TABLE configs ADD COLUMN cors_origins TEXT;
`,
}

// migrate brings the schema of db up to date in one IMMEDIATE transaction,
// so that two processes opening a new file at once do not both create it.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	defer func() {
		if err != nil {
			// The transaction may already be gone; the migration error is what matters.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := conn.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if version < len(migrations) {
		// PRAGMA takes no bound parameters; the value is our own integer.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("set schema version %d: %w", len(migrations), err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate schema: commit: %w", err)
	}
	return nil
}
