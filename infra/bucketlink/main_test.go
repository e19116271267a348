package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/identity"
)

// lockedBuffer is a goroutine-safe stdout for a running serve.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `bucketlink serve` in-process until the test ends and
// returns its base URL and stdout.
func startServe(t *testing.T, data string) (string, *lockedBuffer) {
	t.Helper()
	return startServeAt(t, freeAddr(t), data)
}

// startServeAt is startServe on addr, with more flags.
func startServeAt(t *testing.T, addr, data string, flags ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", addr, "--data", data}, flags...)
	go func() { done <- run(ctx, args, out, &lockedBuffer{}) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		if strings.Contains(out.String(), "listening") {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("serve did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(stop)
	return base, out
}

func listStatus(t *testing.T, base, key, query string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/storage-configs/"+query, nil)
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := serveClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeBootstrapsOnceAndReuses(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var key string
	t.Run("first start", func(t *testing.T) {
		base, out := startServe(t, data)
		b, err := os.ReadFile(filepath.Join(data, "admin-api-key"))
		if err != nil {
			t.Fatal(err)
		}
		key = strings.TrimSpace(string(b))
		if err := identity.CheckFormat(key); err != nil {
			t.Fatalf("admin-api-key holds no valid key: %v", err)
		}
		if n := strings.Count(out.String(), key); n != 1 {
			t.Errorf("key printed %d times, want once", n)
		}
		for _, f := range []string{"admin-api-key", "master.key"} {
			st, err := os.Stat(filepath.Join(data, f))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, err %v; want 0600", f, st.Mode().Perm(), err)
			}
		}
		if s := listStatus(t, base, key, ""); s != http.StatusOK {
			t.Errorf("list with the admin key: %d", s)
		}
	})
	t.Run("second start reuses", func(t *testing.T) {
		base, out := startServe(t, data)
		if strings.Contains(out.String(), "blk_") {
			t.Errorf("second start printed a key: %s", out.String())
		}
		b, _ := os.ReadFile(filepath.Join(data, "admin-api-key"))
		if strings.TrimSpace(string(b)) != key {
			t.Error("admin-api-key changed")
		}
		if s := listStatus(t, base, key, ""); s != http.StatusOK {
			t.Errorf("list with the old admin key: %d", s)
		}
	})
}

func TestAdminCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(args, "--data", data), &out, &out)
		return out.String(), err
	}
	out, err := cmd("org", "create", "--slug", "acme", "--name", "Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	var org map[string]any
	if err := json.Unmarshal([]byte(out), &org); err != nil || org["slug"] != "acme" || org["id"] == nil || org["external_id"] == "" {
		t.Fatalf("org create printed %q (%v)", out, err)
	}
	if _, err := cmd("org", "create", "--slug", "acme"); err == nil {
		t.Error("duplicate slug accepted")
	}
	if _, err := cmd("org", "create", "--slug", "Bad Slug"); err == nil {
		t.Error("bad slug accepted")
	}
	if _, err := cmd("org", "create", "--slug", "beta"); err != nil {
		t.Fatal(err)
	}
	out, err = cmd("apikey", "create", "--org", "acme", "--role", "member", "--user", "ann")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSuffix(out, "\n")
	if strings.Contains(key, "\n") || identity.CheckFormat(key) != nil {
		t.Fatalf("apikey create printed %q, want only the key", out)
	}
	if _, err := cmd("member", "add", "--user", "ann", "--org", "beta", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"apikey", "create", "--org", "acme", "--role", "owner"},
		{"apikey", "create", "--role", "admin"},
		{"member", "add", "--org", "acme", "--role", "admin"},
		{"nonsense"},
	} {
		if _, err := cmd(bad...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want usage error", bad, err)
		}
	}
	if _, err := cmd("apikey", "create", "--org", "nope", "--role", "admin"); err == nil {
		t.Error("key for an unknown org")
	}

	// One key now reaches both orgs, choosing with ?organization=.
	base, _ := startServe(t, data)
	for q, want := range map[string]int{"": 400, "?organization=acme": 200, "?organization=beta": 200} {
		if s := listStatus(t, base, key, q); s != want {
			t.Errorf("list%s = %d, want %d", q, s, want)
		}
	}
	id := identity.KeyID(identity.HashKey(key))
	if _, err := cmd("apikey", "revoke", "--id", id); err != nil {
		t.Fatal(err)
	}
	if s := listStatus(t, base, key, "?organization=acme"); s != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", s)
	}
}
