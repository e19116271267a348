package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// explain returns the steps of the query plan of query.
func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	return plan
}

// TestDueUsesIndex checks that DueConfigs is a range scan of the partial
// index configs_due, in index order (no sort step), and that the history
// queries search the primary key of config_verifications.
func TestDueUsesIndex(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"due", dueSQL, []any{1700000000000000, 100}, "USING INDEX configs_due (next_reverify_at<?)"},
		{"history first page", historyFirstSQL, []any{"uid", 1, 21}, "USING PRIMARY KEY (config_uid=?)"},
		{"history after", historyAfterSQL, []any{"uid", 1, 5, 21}, "USING PRIMARY KEY (config_uid=? AND seq<?)"},
		{"history before", historyBeforeSQL, []any{"uid", 1, 5, 21}, "USING PRIMARY KEY (config_uid=? AND seq>?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, s, tt.query, tt.args...)
			all := strings.Join(plan, "; ")
			if len(plan) != 1 || !strings.Contains(all, tt.want) {
				t.Errorf("plan %q: want one search %s", all, tt.want)
			}
			if strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan %q: want no sort step", all)
			}
		})
	}
}

// TestMigrateSchedulesExistingConfigs opens a version 3 database (before
// re-verification): its configs come out re-verifying hourly, due an hour
// after their last verification (or creation), and are found as due.
func TestMigrateSchedulesExistingConfigs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	verified := created.Add(24 * time.Hour)
	stmts := append([]string{}, migrations[:3]...)
	stmts = append(stmts,
		`INSERT INTO orgs (slug, name, external_id, created_at) VALUES ('acme', 'Acme', 'ext', 1)`,
		`INSERT INTO configs (uid, org_id, name, provider, s3_bucket_name, s3_bucket_region, s3_bucket_prefix,
			s3_is_accelerated, s3_cloudfront_domain, s3_cloudfront_public_key_id, s3_auth_method, s3_role_arn,
			s3_endpoint_url, s3_use_path_style, is_verified, last_verified_at, created_at, updated_at, version, sealed)
		VALUES ('verified', 1, 'v', 'aws_s3', 'b', 'eu-west-1', '', 0, '', '', 'access_key', '', '', 0, 1, `+
			itoa(verified.UnixMicro())+`, `+itoa(created.UnixMicro())+`, `+itoa(created.UnixMicro())+`, 1, x'00'),
			('never', 1, 'n', 'aws_s3', 'b', 'eu-west-1', '', 0, '', '', 'access_key', '', '', 0, 0, NULL, `+
			itoa(created.UnixMicro())+`, `+itoa(created.UnixMicro())+`, 1, x'00')`,
		`PRAGMA user_version = 3`,
	)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("write a version 3 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 3 database: %v", err)
	}
	defer s.Close()
	for uid, from := range map[string]time.Time{"verified": verified, "never": created} {
		c, err := s.GetConfig(ctx, uid)
		if err != nil {
			t.Fatalf("get %s: %v", uid, err)
		}
		if c.ReverifyInterval != time.Hour || !c.NextReverifyAt.Equal(from.Add(time.Hour)) || c.ReverifyFailures != 0 {
			t.Errorf("%s after migrating: interval %v next %v failures %d, want 1h, %v, 0",
				uid, c.ReverifyInterval, c.NextReverifyAt, c.ReverifyFailures, from.Add(time.Hour))
		}
	}
	due, err := s.DueConfigs(ctx, verified.Add(time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].UID != "never" || due[1].UID != "verified" {
		t.Errorf("due after migrating: %d configs, %v; want never, verified", len(due), err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
