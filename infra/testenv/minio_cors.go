package testenv

import (
	"testing"
)

// SetCORSAllowOrigin sets the origins MinIO's S3 API answers CORS requests
// for (its "api cors_allow_origin" setting, "*" by default; a comma-separated
// list), through the admin API; it applies at once. MinIO has no per-bucket
// CORS (PutBucketCors answers NotImplemented): this server-wide setting is
// what it supports.
func (m *MinIO) SetCORSAllowOrigin(tb testing.TB, origins string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if _, err := m.admin.SetConfigKV(ctx, "api cors_allow_origin="+origins); err != nil {
		tb.Fatalf("testenv: minio: set cors_allow_origin: %v", err)
	}
}
