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
	t.Run("RotateUsesOnce", func(t *testing.T) { testConnectRotateUsesOnce(t, open(t)) })
	t.Run("RotateUnusable", func(t *testing.T) { testConnectRotateUnusable(t, open(t)) })
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

// newRotateSession stores a rotate session of c expiring ttl after now.
func newRotateSession(t *testing.T, s store.Store, c *storageconfig.Config, now time.Time, ttl time.Duration) *connect.Session {
	t.Helper()
	_, cs, err := connect.New()
	if err != nil {
		t.Fatal(err)
	}
	cs.OrgID, cs.Purpose, cs.CreatedBy, cs.ConfigUID = c.OrgID, connect.PurposeRotate, "key_0123456789ab", c.UID
	cs.CreatedAt, cs.ExpiresAt = now, now.Add(ttl)
	if err := s.CreateConnectSession(context.Background(), cs); err != nil {
		t.Fatalf("create connect session: %v", err)
	}
	return cs
}

// testConnectRotateUsesOnce: UpdateConfigForSession writes the rotation
// and uses the session at once; a second rotation on it writes nothing,
// and of two from one read exactly one is stored.
func testConnectRotateUsesOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	now := storageconfig.Now()
	c := NewConfig(org)
	mustCreate(t, s, c)
	cs := newRotateSession(t, s, c, now, 15*time.Minute)
	got, err := s.GetConnectSession(ctx, cs.Hash)
	if err != nil || got.Purpose != connect.PurposeRotate || got.ConfigUID != c.UID || !got.UsedAt.IsZero() {
		t.Fatalf("rotate session round trip: %+v, %v", got, err)
	}

	u := mustGet(t, s, c.UID)
	u.Sealed = randomBytes(70)
	if err := s.UpdateConfigForSession(ctx, u, cs.Hash, now.Add(time.Minute)); err != nil {
		t.Fatalf("update config for session: %v", err)
	}
	if u.Version != 2 {
		t.Errorf("Version = %d after the rotation, want 2", u.Version)
	}
	wantConfig(t, mustGet(t, s, c.UID), u)
	if got, _ := s.GetConnectSession(ctx, cs.Hash); got == nil || !got.UsedAt.Equal(now.Add(time.Minute)) || got.ConfigUID != c.UID {
		t.Errorf("used rotate session: %+v", got)
	}
	again := mustGet(t, s, c.UID)
	again.Sealed = randomBytes(70)
	wantCode(t, s.UpdateConfigForSession(ctx, again, cs.Hash, now.Add(2*time.Minute)), errcode.ErrConflict, "second rotation on a used session")
	wantConfig(t, mustGet(t, s, c.UID), u)

	// Two rotations from one read, each with its own session: one wins.
	read := mustGet(t, s, c.UID)
	tries := []*storageconfig.Config{clone(read), clone(read)}
	sessions := []*connect.Session{newRotateSession(t, s, c, now, time.Hour), newRotateSession(t, s, c, now, time.Hour)}
	for _, tr := range tries {
		tr.Sealed = randomBytes(70)
	}
	at := now.Add(time.Minute)
	won := raceOnce(t, "two rotations from one read", errcode.ErrConflict,
		func() error { return s.UpdateConfigForSession(ctx, tries[0], sessions[0].Hash, at) },
		func() error { return s.UpdateConfigForSession(ctx, tries[1], sessions[1].Hash, at) })
	wantConfig(t, mustGet(t, s, c.UID), tries[won])
	loser, err := s.GetConnectSession(ctx, sessions[1-won].Hash)
	if err != nil || !loser.UsedAt.IsZero() {
		t.Errorf("the losing rotation used its session: %+v, %v", loser, err)
	}
}

// testConnectRotateUnusable: a session that is expired, used, for another
// config, for a create or of another org, and a stale version, write
// neither the config nor the session.
func testConnectRotateUnusable(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	now := storageconfig.Now()
	c, other := NewConfig(org), NewConfig(org)
	mustCreate(t, s, c)
	mustCreate(t, s, other)
	expired := newRotateSession(t, s, c, now.Add(-time.Hour), 15*time.Minute)
	forOther := newRotateSession(t, s, other, now, 15*time.Minute)
	create := newSession(t, s, org, now, 15*time.Minute)
	good := newRotateSession(t, s, c, now, 15*time.Minute)
	stale := mustGet(t, s, c.UID)
	bumped := mustGet(t, s, c.UID)
	bumped.Name = "renamed"
	if err := s.UpdateConfig(ctx, bumped); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		c    *storageconfig.Config
		hash [32]byte
		want error
	}{
		{"expired", clone(bumped), expired.Hash, errcode.ErrConflict},
		{"another config's", clone(bumped), forOther.Hash, errcode.ErrConflict},
		{"a create session", clone(bumped), create.Hash, errcode.ErrConflict},
		{"unknown", clone(bumped), [32]byte{9}, errcode.ErrConflict},
		{"stale version", stale, good.Hash, errcode.ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Sealed = randomBytes(70)
			wantCode(t, s.UpdateConfigForSession(ctx, tt.c, tt.hash, now), tt.want, "rotation on an unusable session")
			wantConfig(t, mustGet(t, s, c.UID), bumped)
		})
	}
	if got, _ := s.GetConnectSession(ctx, good.Hash); got == nil || !got.UsedAt.IsZero() {
		t.Errorf("a refused rotation (stale version) used its session: %+v", got)
	}
	missing := NewConfig(org)
	ms := newRotateSession(t, s, missing, now, time.Hour)
	wantCode(t, s.UpdateConfigForSession(ctx, missing, ms.Hash, now), errcode.ErrNotFound, "rotation of a missing config")
}
