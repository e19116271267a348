package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestListUsesIndex checks that every listing query is a range scan of
// configs_org_created with no sort step: keyset paging, never OFFSET.
func TestListUsesIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"first page", listFirstSQL, []any{1, 21}},
		{"after", listAfterSQL, []any{1, 1700000000000000, "uid", 21}},
		{"before", listBeforeSQL, []any{1, 1700000000000000, "uid", 21}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
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
			all := strings.Join(plan, "; ")
			if len(plan) != 1 || !strings.Contains(all, "USING INDEX configs_org_created (org_id=?") {
				t.Errorf("plan %q: want one search of configs_org_created by org_id", all)
			}
			if tt.name != "first page" && !strings.Contains(all, "(org_id=? AND ") {
				t.Errorf("plan %q: want the cursor as a range constraint on the index", all)
			}
			if strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan %q: want no sort step", all)
			}
		})
	}
}
