package sqlitestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, filepath.Join(t.TempDir(), "bucketlink.db")) })
}

func BenchmarkList(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bucketlink.db"))
	defer s.Close()
	storetest.BenchmarkList(b, s)
}

// open opens the store at path or fails t.
func open(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// TestDeleteDestroysSealed checks that sealed bytes replaced by an update,
// or deleted with their config, are nowhere in the database files once the
// store is closed; as a control, the live bytes must be found.
func TestDeleteDestroysSealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bucketlink.db")
	first, second := randomMarker(t), randomMarker(t)

	s := open(t, path)
	org := &identity.Org{Slug: "acme", Name: "Acme", ExternalID: "ext", CreatedAt: storageconfig.Now()}
	if err := s.CreateOrg(ctx, org); err != nil {
		t.Fatalf("create org: %v", err)
	}
	// Neighbours keep the page in use, so the row is freed inside a live page.
	c := storetest.NewConfig(org.ID)
	c.Sealed = first
	cs := []*storageconfig.Config{storetest.NewConfig(org.ID), c, storetest.NewConfig(org.ID), storetest.NewConfig(org.ID)}
	for _, x := range cs {
		if err := s.CreateConfig(ctx, x); err != nil {
			t.Fatalf("create config: %v", err)
		}
	}
	closeStore(t, s)
	if countInFiles(t, path, first) == 0 {
		t.Fatal("control: the live sealed bytes are not in the database files; the scan proves nothing")
	}

	s = open(t, path)
	c.Sealed = second
	if err := s.UpdateConfig(ctx, c); err != nil {
		t.Fatalf("update config: %v", err)
	}
	if n := countInFiles(t, path, first); n != 0 {
		t.Errorf("while the store is open, sealed bytes replaced by an update (a rotation) appear %d times in the database files", n)
	}
	closeStore(t, s)
	if n := countInFiles(t, path, first); n != 0 {
		t.Errorf("sealed bytes replaced by an update appear %d times in the database files", n)
	}
	if countInFiles(t, path, second) == 0 {
		t.Fatal("control: the updated sealed bytes are not in the database files")
	}

	s = open(t, path)
	if err := s.DeleteConfig(ctx, org.ID, c.UID); err != nil {
		t.Fatalf("delete config: %v", err)
	}
	if n := countInFiles(t, path, second); n != 0 {
		t.Errorf("while the store is open, the deleted config's sealed bytes appear %d times in the database files", n)
	}
	closeStore(t, s)
	if n := countInFiles(t, path, second); n != 0 {
		t.Errorf("the deleted config's sealed bytes appear %d times in the database files", n)
	}
	for _, x := range cs {
		if x != c && countInFiles(t, path, x.Sealed) == 0 {
			t.Errorf("config %s was kept but its sealed bytes are gone from the files", x.UID)
		}
	}
}

func randomMarker(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func closeStore(t *testing.T, s *sqlitestore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// countInFiles counts occurrences of marker in the database file and its
// -wal and -shm companions (absent ones count zero).
func countInFiles(t *testing.T, path string, marker []byte) int {
	t.Helper()
	n := 0
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		n += bytes.Count(b, marker)
	}
	return n
}

// TestOpen covers file names that need escaping in the DSN, reopening an
// existing file, and refusing a schema newer than the program.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		file string
	}{
		{"plain", "bucketlink.db"},
		{"needs escaping", "my data?x=1#frag %41.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			s := open(t, path)
			org := &identity.Org{Slug: "acme", CreatedAt: storageconfig.Now()}
			if err := s.CreateOrg(ctx, org); err != nil {
				t.Fatalf("create org: %v", err)
			}
			closeStore(t, s)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the database is not at the path given: %v", err)
			}
			s = open(t, path)
			defer closeStore(t, s)
			if _, err := s.GetOrgBySlug(ctx, "acme"); err != nil {
				t.Fatalf("after reopening: %v", err)
			}
		})
	}

	t.Run("newer schema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bucketlink.db")
		closeStore(t, open(t, path))
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := sqlitestore.Open(ctx, path)
		if err == nil {
			s.Close()
			t.Fatal("open a schema newer than the program: got nil error")
		}
	})
}
