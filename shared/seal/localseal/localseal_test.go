package localseal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/seal/sealtest"
)

func TestConformance(t *testing.T) {
	paths := map[seal.Sealer]string{}
	var mu sync.Mutex
	sealtest.Run(t, sealtest.Harness{
		New: func(t *testing.T) seal.Sealer {
			path := filepath.Join(t.TempDir(), "master.key")
			s, err := localseal.Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			mu.Lock()
			paths[s] = path
			mu.Unlock()
			return s
		},
		Reopen: func(t *testing.T, s seal.Sealer) seal.Sealer {
			mu.Lock()
			path := paths[s]
			mu.Unlock()
			s2, err := localseal.Open(path)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			return s2
		},
	})
}

// keyOf reads the key file; tests only, the key never leaves the test.
func keyOf(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenCreatesThenReusesKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	s1, err := localseal.Open(path)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", got)
	}
	if info.Size() != localseal.KeySize {
		t.Errorf("key file size = %d, want %d", info.Size(), localseal.KeySize)
	}
	if bytes.Equal(keyOf(t, path), make([]byte, localseal.KeySize)) {
		t.Error("key file is all zeros")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after creation, want only the key file", len(entries))
	}

	b := seal.Binding{OrgID: 7, ConfigUID: "c"}
	env, err := s1.Seal(ctx, []byte("secret"), b)
	if err != nil {
		t.Fatal(err)
	}
	before := keyOf(t, path)
	s2, err := localseal.Open(path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if !bytes.Equal(before, keyOf(t, path)) {
		t.Fatal("second Open changed the key file")
	}
	got, err := s2.Open(ctx, env, b)
	if err != nil || string(got) != "secret" {
		t.Fatalf("second sealer cannot open the first's envelope: %q, %v", got, err)
	}
}

func TestOpenRejectsBadKeyFile(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		mode    os.FileMode
		wantMsg string
	}{
		{"empty", 0, 0o600, "has 0 bytes"},
		{"short", 31, 0o600, "has 31 bytes"},
		{"long", 33, 0o600, "longer than 32"},
		{"group readable", 32, 0o640, "chmod 600"},
		{"world readable", 32, 0o644, "chmod 600"},
		{"group writable", 32, 0o620, "chmod 600"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			content := make([]byte, tc.size)
			if _, err := rand.Read(content); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			s, err := localseal.Open(path)
			if err == nil {
				t.Fatalf("Open succeeded (%v), want an error", s)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if !bytes.Equal(keyOf(t, path), content) {
				t.Error("Open modified a rejected key file")
			}
			if tc.size > 0 && strings.Contains(err.Error(), fmt.Sprintf("%x", content[:4])) {
				t.Error("error message contains key bytes")
			}
		})
	}
}

func TestOpenRejectsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := localseal.Open(dir); err == nil {
		t.Fatal("Open of a directory succeeded")
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	if _, err := localseal.Open(filepath.Join(t.TempDir(), "nope", "master.key")); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

func TestConcurrentFirstOpenYieldsOneKey(t *testing.T) {
	ctx := context.Background()
	for round := range 5 {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "master.key")
			const n = 8
			sealers := make([]*localseal.Sealer, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					sealers[i], errs[i] = localseal.Open(path)
				})
			}
			close(start)
			wg.Wait()
			b := seal.Binding{OrgID: 1, ConfigUID: "x"}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Open %d: %v", i, errs[i])
				}
			}
			// Every sealer opens every other's envelope: one key.
			for i := range n {
				env, err := sealers[i].Seal(ctx, []byte("pt"), b)
				if err != nil {
					t.Fatal(err)
				}
				for j := range n {
					if _, err := sealers[j].Open(ctx, env, b); err != nil {
						t.Fatalf("sealer %d cannot open sealer %d's envelope: %v", j, i, err)
					}
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				names := make([]string, 0, len(entries))
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v, want only the key file", names)
			}
		})
	}
}

func TestDeriveKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	s1, err := localseal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := localseal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	other, err := localseal.Open(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	master := keyOf(t, path)

	purposes := []string{"httpapi/cursor/v1", "httpapi/cursor/v2", "webhook", "", "x"}
	seen := map[string]string{}
	for _, p := range purposes {
		k := s1.DeriveKey(p)
		if len(k) != 32 {
			t.Fatalf("DeriveKey(%q) has %d bytes, want 32", p, len(k))
		}
		if !bytes.Equal(k, s1.DeriveKey(p)) || !bytes.Equal(k, s2.DeriveKey(p)) {
			t.Errorf("DeriveKey(%q) is not stable across calls and reopen", p)
		}
		if bytes.Equal(k, other.DeriveKey(p)) {
			t.Errorf("DeriveKey(%q) is the same under another master key", p)
		}
		if bytes.Equal(k, master) {
			t.Errorf("DeriveKey(%q) returned the master key", p)
		}
		if prev, ok := seen[string(k)]; ok {
			t.Errorf("DeriveKey(%q) == DeriveKey(%q)", p, prev)
		}
		seen[string(k)] = p
	}
	// Callers may scribble on the returned key.
	k := s1.DeriveKey("webhook")
	clear(k)
	if bytes.Equal(s1.DeriveKey("webhook"), k) {
		t.Error("DeriveKey returns shared storage")
	}
}

func TestFormatHidesKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	s, err := localseal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf(t, path)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, fmt.Sprintf("%x", key[:8])) || strings.Contains(out, fmt.Sprint(key[0], " ", key[1], " ", key[2])) {
			t.Errorf("fmt %s of a Sealer shows key bytes: %s", verb, out)
		}
	}
}

func TestEnvelopeLayout(t *testing.T) {
	s, err := localseal.Open(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 100} {
		env, err := s.Seal(context.Background(), make([]byte, n), seal.Binding{OrgID: 1, ConfigUID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if env[0] != 0x01 {
			t.Errorf("version byte = %#x, want 0x01", env[0])
		}
		if want := 1 + 12 + 48 + 12 + n + 16; len(env) != want {
			t.Errorf("envelope of %d-byte plaintext has %d bytes, want %d", n, len(env), want)
		}
	}
}
