package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runConnectSessions checks the connect sessions: their round trip, and
// that CreateConfigForSession writes the config and uses the session in one
// atomic step: an unusable session (used, expired, of another org or
// purpose, unknown) writes no config, and of two concurrent creates on one
// session exactly one is stored.
func runConnectSessions(t *testing.T, open opener) {
	t.Run("RoundTrip", func(t *testing.T) { testConnectRoundTrip(t, open(t)) })
	t.Run("CreateUsesOnce", func(t *testing.T) { testConnectCreateUsesOnce(t, open(t)) })
	t.Run("Unusable", func(t *testing.T) { testConnectUnusable(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConnectConcurrent(t, open(t)) })
}

// newSession stores a create session of org expiring ttl after now.
func newSession(t *testing.T, s store.Store, orgID int64, now time.Time, ttl time.Duration) *connect.Session {
	t.Helper()
	_, cs, err := connect.New()
	if err != nil {
		t.Fatal(err)
	}
	cs.OrgID, cs.Purpose, cs.CreatedBy = orgID, connect.PurposeCreate, "key_0123456789ab"
	cs.CreatedAt, cs.ExpiresAt = now, now.Add(ttl)
	if err := s.CreateConnectSession(context.Background(), cs); err != nil {
		t.Fatalf("create connect session: %v", err)
	}
	return cs
}

func testConnectRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	now := storageconfig.Now()
	want := newSession(t, s, org, now, 15*time.Minute)
	got, err := s.GetConnectSession(ctx, want.Hash)
	if err != nil {
		t.Fatalf("get connect session: %v", err)
	}
	if got.ID != want.ID || got.Hash != want.Hash || got.OrgID != org || got.Purpose != connect.PurposeCreate ||
		got.CreatedBy != want.CreatedBy || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.UsedAt.IsZero() || got.ConfigUID != "" || got.CreatedAt.Location() != time.UTC {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	wantCode(t, s.CreateConnectSession(ctx, want), errcode.ErrAlreadyExists, "create a session with a taken hash")
	_, err = s.GetConnectSession(ctx, [32]byte{1})
	wantCode(t, err, errcode.ErrNotFound, "get an unknown session")
	_, other, _ := connect.New()
	other.OrgID, other.Purpose, other.CreatedAt, other.ExpiresAt = org+1000, connect.PurposeCreate, now, now.Add(time.Minute)
	wantCode(t, s.CreateConnectSession(ctx, other), errcode.ErrNotFound, "create a session of an unknown org")
}

func testConnectCreateUsesOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	now := storageconfig.Now()
	cs := newSession(t, s, org, now, 15*time.Minute)
	c := NewConfig(org)
	if err := s.CreateConfigForSession(ctx, c, cs.Hash, now.Add(time.Minute)); err != nil {
		t.Fatalf("create config for session: %v", err)
	}
	if c.ID <= 0 {
		t.Errorf("create config for session: ID %d, want positive", c.ID)
	}
	stored, err := s.GetConfig(ctx, c.UID)
	if err != nil {
		t.Fatalf("get the created config: %v", err)
	}
	if d := diffConfig(c, stored); len(d) > 0 {
		t.Errorf("created config differs in %v", d)
	}
	got, err := s.GetConnectSession(ctx, cs.Hash)
	if err != nil {
		t.Fatalf("get connect session: %v", err)
	}
	if !got.UsedAt.Equal(now.Add(time.Minute)) || got.ConfigUID != c.UID || got.StateAt(now) != connect.Used {
		t.Errorf("used session: used_at %v config %q, want %v and %q", got.UsedAt, got.ConfigUID, now.Add(time.Minute), c.UID)
	}
	again := NewConfig(org)
	wantCode(t, s.CreateConfigForSession(ctx, again, cs.Hash, now.Add(2*time.Minute)), errcode.ErrConflict, "second create on a used session")
	_, err = s.GetConfig(ctx, again.UID)
	wantCode(t, err, errcode.ErrNotFound, "the config of a refused create")
}

func testConnectUnusable(t *testing.T, s store.Store) {
	ctx := context.Background()
	org, otherOrg := newOrg(t, s), newOrg(t, s)
	now := storageconfig.Now()
	expired := newSession(t, s, org, now.Add(-time.Hour), 15*time.Minute)
	foreign := newSession(t, s, otherOrg, now, 15*time.Minute)
	expiring := newSession(t, s, org, now, 15*time.Minute)
	for _, tt := range []struct {
		name string
		hash [32]byte
		at   time.Time
	}{
		{"expired", expired.Hash, now},
		{"at its expiry", expiring.Hash, expiring.ExpiresAt},
		{"another org", foreign.Hash, now},
		{"unknown", [32]byte{7}, now},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig(org)
			wantCode(t, s.CreateConfigForSession(ctx, c, tt.hash, tt.at), errcode.ErrConflict, "create on an unusable session")
			_, err := s.GetConfig(ctx, c.UID)
			wantCode(t, err, errcode.ErrNotFound, "the config of a refused create")
		})
	}
	got, err := s.GetConnectSession(ctx, foreign.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.UsedAt.IsZero() {
		t.Errorf("a refused create used the session at %v", got.UsedAt)
	}
	page, err := s.ListConfigs(ctx, org, store.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Errorf("refused creates left %d configs", len(page.Items))
	}
}

func testConnectConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	now := storageconfig.Now()
	cs := newSession(t, s, org, now, 15*time.Minute)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateConfigForSession(ctx, NewConfig(org), cs.Hash, now) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errcode.ErrConflict):
			t.Errorf("a losing create: %v, want ErrConflict", err)
		}
	}
	page, err := s.ListConfigs(ctx, org, store.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(page.Items) != 1 {
		t.Errorf("%d concurrent creates on one session: %d succeeded and %d configs stored, want 1 and 1", n, won, len(page.Items))
	}
}
