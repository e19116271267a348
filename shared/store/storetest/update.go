package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runUpdate covers UpdateConfig and its optimistic concurrency.
func runUpdate(t *testing.T, open opener) {
	t.Run("MatchingVersion", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		c := NewConfig(org)
		mustCreate(t, s, c)
		u := mustGet(t, s, c.UID)
		u.Name = "renamed"
		u.IsVerified = true
		u.LastVerifiedAt = storageconfig.Now()
		u.UpdatedAt = u.LastVerifiedAt
		u.Sealed = randomBytes(80)
		u.Settings.(*s3.Settings).KeyPrefix = "new/prefix/"
		u.CORSOrigins = []string{"https://app.example.com"}
		if err := s.UpdateConfig(context.Background(), u); err != nil {
			t.Fatalf("update: %v", err)
		}
		if u.Version != 2 {
			t.Errorf("after update: c.Version = %d, want 2", u.Version)
		}
		wantConfig(t, mustGet(t, s, c.UID), u)

		// Back to never verified: a zero LastVerifiedAt is stored as zero.
		u.IsVerified, u.LastVerifiedAt = false, time.Time{}
		u.CORSOrigins = []string{} // none
		if err := s.UpdateConfig(context.Background(), u); err != nil {
			t.Fatalf("second update: %v", err)
		}
		if u.Version != 3 {
			t.Errorf("after second update: c.Version = %d, want 3", u.Version)
		}
		wantConfig(t, mustGet(t, s, c.UID), u)

		// Back to the operator's origins: nil is stored as nil.
		u.CORSOrigins = nil
		if err := s.UpdateConfig(context.Background(), u); err != nil {
			t.Fatalf("third update: %v", err)
		}
		wantConfig(t, mustGet(t, s, c.UID), u)
	})

	t.Run("StaleVersion", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		c := NewConfig(org)
		mustCreate(t, s, c)
		first, stale := mustGet(t, s, c.UID), mustGet(t, s, c.UID)
		first.Name = "first"
		if err := s.UpdateConfig(context.Background(), first); err != nil {
			t.Fatalf("first update: %v", err)
		}
		stale.Name = "stale"
		stale.Sealed = randomBytes(64)
		err := s.UpdateConfig(context.Background(), stale)
		wantCode(t, err, errcode.ErrConflict, "update with a stale version")
		if stale.Version != 1 {
			t.Errorf("failed update changed c.Version to %d, want it left at 1", stale.Version)
		}
		wantConfig(t, mustGet(t, s, c.UID), first)
	})

	t.Run("Missing", func(t *testing.T) {
		s := open(t)
		c := NewConfig(newOrg(t, s))
		err := s.UpdateConfig(context.Background(), c)
		wantCode(t, err, errcode.ErrNotFound, "update a missing config")
		_, err = s.GetConfig(context.Background(), c.UID)
		wantCode(t, err, errcode.ErrNotFound, "get after updating a missing config")
	})

	t.Run("WrongOrg", func(t *testing.T) {
		s := open(t)
		org, other := newOrg(t, s), newOrg(t, s)
		c := NewConfig(org)
		mustCreate(t, s, c)
		moved := clone(c)
		moved.OrgID = other
		moved.Name = "moved"
		err := s.UpdateConfig(context.Background(), moved)
		wantCode(t, err, errcode.ErrNotFound, "update with another org's id")
		wantConfig(t, mustGet(t, s, c.UID), c)
	})

	t.Run("ConcurrentRetries", func(t *testing.T) { testConcurrentRetries(t, open(t)) })
	t.Run("SameReadOneWins", func(t *testing.T) { testSameReadOneWins(t, open(t)) })
}

// testConcurrentRetries runs goroutines that each append markers to Name by
// read-modify-write, retrying on conflict: every append must land once.
func testConcurrentRetries(t *testing.T, s store.Store) {
	const workers, each = 6, 5
	c := NewConfig(newOrg(t, s))
	c.Name = "n"
	mustCreate(t, s, c)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n, err := appendName(s, c.UID, fmt.Sprintf("|w%d.%d", w, i))
				mu.Lock()
				conflicts += n
				mu.Unlock()
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := mustGet(t, s, c.UID)
	if want := int64(1 + workers*each); got.Version != want {
		t.Errorf("Version = %d after %d updates, want %d", got.Version, workers*each, want)
	}
	for w := range workers {
		for i := range each {
			if m := fmt.Sprintf("|w%d.%d|", w, i); strings.Count(got.Name+"|", m) != 1 {
				t.Errorf("marker %q appears %d times in %q, want once", m, strings.Count(got.Name+"|", m), got.Name)
			}
		}
	}
	t.Logf("%d updates, %d conflicts retried", workers*each, conflicts)
}

// appendName appends marker to the config's Name, retrying on conflict. It
// returns how many conflicts it retried.
func appendName(s store.Store, uid, marker string) (int, error) {
	ctx := context.Background()
	for n := 0; n < 1000; n++ {
		c, err := s.GetConfig(ctx, uid)
		if err != nil {
			return n, fmt.Errorf("get: %w", err)
		}
		version := c.Version
		c.Name += marker
		err = s.UpdateConfig(ctx, c)
		switch {
		case err == nil:
			if c.Version != version+1 {
				return n, fmt.Errorf("update: c.Version = %d, want %d", c.Version, version+1)
			}
			return n, nil
		case errors.Is(err, errcode.ErrConflict):
			continue
		default:
			return n, fmt.Errorf("update: %w", err)
		}
	}
	return 1000, errors.New("update: still conflicting after 1000 tries")
}

// testSameReadOneWins starts two updates from the same read at once: exactly
// one succeeds and the other conflicts.
func testSameReadOneWins(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	for round := range 10 {
		c := NewConfig(org)
		mustCreate(t, s, c)
		read := mustGet(t, s, c.UID)
		tries := []*storageconfig.Config{clone(read), clone(read)}
		for i, u := range tries {
			u.Name = fmt.Sprintf("writer %d", i)
		}
		won := raceOnce(t, fmt.Sprintf("round %d: update from one read", round), errcode.ErrConflict,
			func() error { return s.UpdateConfig(context.Background(), tries[0]) },
			func() error { return s.UpdateConfig(context.Background(), tries[1]) })
		wantConfig(t, mustGet(t, s, c.UID), tries[won])
	}
}
