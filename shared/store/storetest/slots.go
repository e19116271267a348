package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
)

// RunSlots runs the suite of store.VerificationSlots. newStore must return
// a fresh, empty store for each subtest; when it is an io.Closer, the
// suite closes it as the subtest ends.
//
// Besides the contract written in package store, the suite pins down that
// slots are counted per org, that concurrent acquisitions never pass the
// limit (with the room held by live slots and by expired ones alike), and
// that a release of a slot that does not exist creates nothing.
func RunSlots(t *testing.T, newStore func(t *testing.T) store.VerificationSlots) {
	t.Helper()
	open := func(t *testing.T) store.VerificationSlots {
		t.Helper()
		s := newStore(t)
		if c, ok := s.(io.Closer); ok {
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
		}
		return s
	}
	t.Run("UpToTheLimit", func(t *testing.T) { testSlotsLimit(t, open(t)) })
	t.Run("SameKeyKeepsItsSlot", func(t *testing.T) { testSlotsSameKey(t, open(t)) })
	t.Run("ReleaseFrees", func(t *testing.T) { testSlotsRelease(t, open(t)) })
	t.Run("ExpiryFrees", func(t *testing.T) { testSlotsExpiry(t, open(t)) })
	t.Run("ConcurrentNeverPassTheLimit", func(t *testing.T) { testSlotsConcurrent(t, open(t), false) })
	t.Run("ConcurrentOverExpiredSlots", func(t *testing.T) { testSlotsConcurrent(t, open(t), true) })
	t.Run("Invalid", func(t *testing.T) { testSlotsInvalid(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testSlotsCancelled(t, open(t)) })
}

// slotTime is the suite's clock: slots take now and until as arguments,
// so the suite moves time without sleeping.
var slotTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func mustAcquire(t *testing.T, s store.VerificationSlots, org int64, key string, now, until time.Time, limit int, wantTaken bool) {
	t.Helper()
	taken, err := s.AcquireVerificationSlot(context.Background(), org, key, now, until, limit)
	if err != nil || taken != wantTaken {
		t.Fatalf("acquire %s of org %d (limit %d) = %v, %v; want %v, nil", key, org, limit, taken, err, wantTaken)
	}
}

func wantCount(t *testing.T, s store.VerificationSlots, org int64, now time.Time, want int) {
	t.Helper()
	n, err := s.CountVerificationSlots(context.Background(), org, now)
	if err != nil || n != want {
		t.Fatalf("count of org %d = %d, %v; want %d", org, n, err, want)
	}
}

func wantAtCapacity(t *testing.T, s store.VerificationSlots, org int64, key string, now, until time.Time, limit int) {
	t.Helper()
	taken, err := s.AcquireVerificationSlot(context.Background(), org, key, now, until, limit)
	if !errors.Is(err, store.ErrAtCapacity) || taken {
		t.Fatalf("acquire %s of a full org = %v, %v; want an error matching ErrAtCapacity", key, taken, err)
	}
}

func testSlotsLimit(t *testing.T, s store.VerificationSlots) {
	now, until := slotTime, slotTime.Add(time.Minute)
	wantCount(t, s, 1, now, 0)
	for i := range 3 {
		mustAcquire(t, s, 1, fmt.Sprintf("k%d", i), now, until, 3, true)
	}
	wantAtCapacity(t, s, 1, "k3", now, until, 3)
	wantCount(t, s, 1, now, 3)
	// Another org has its own slots; a larger limit lets org 1 go on.
	mustAcquire(t, s, 2, "k3", now, until, 3, true)
	wantCount(t, s, 2, now, 1)
	mustAcquire(t, s, 1, "k3", now, until, 4, true)
	wantCount(t, s, 1, now, 4)
}

func testSlotsSameKey(t *testing.T, s store.VerificationSlots) {
	now := slotTime
	mustAcquire(t, s, 1, "a", now, now.Add(time.Minute), 2, true)
	mustAcquire(t, s, 1, "b", now, now.Add(time.Minute), 2, true)
	// Full, but a acquires again: kept, never refused, not counted twice.
	mustAcquire(t, s, 1, "a", now, now.Add(2*time.Minute), 2, false)
	wantCount(t, s, 1, now, 2)
	// Its end moved to the later time: still live after b expired.
	wantCount(t, s, 1, now.Add(90*time.Second), 1)
	// An earlier end never shortens it.
	mustAcquire(t, s, 1, "a", now, now.Add(time.Second), 2, false)
	wantCount(t, s, 1, now.Add(90*time.Second), 1)
}

func testSlotsRelease(t *testing.T, s store.VerificationSlots) {
	ctx := context.Background()
	now, until := slotTime, slotTime.Add(time.Minute)
	mustAcquire(t, s, 1, "a", now, until, 2, true)
	mustAcquire(t, s, 1, "b", now, until, 2, true)
	wantAtCapacity(t, s, 1, "c", now, until, 2)
	if err := s.ReleaseVerificationSlot(ctx, 1, "a"); err != nil {
		t.Fatalf("release: %v", err)
	}
	wantCount(t, s, 1, now, 1)
	mustAcquire(t, s, 1, "c", now, until, 2, true)
	for _, tc := range []struct {
		org int64
		key string
	}{{1, "a"}, {1, "never"}, {99, "a"}} {
		if err := s.ReleaseVerificationSlot(ctx, tc.org, tc.key); err != nil {
			t.Errorf("release of a missing slot (org %d, %s) = %v, want nil", tc.org, tc.key, err)
		}
	}
	wantCount(t, s, 1, now, 2)
	wantCount(t, s, 99, now, 0)
	mustAcquire(t, s, 99, "x", now, until, 1, true)
}

func testSlotsExpiry(t *testing.T, s store.VerificationSlots) {
	now := slotTime
	mustAcquire(t, s, 1, "short", now, now.Add(time.Second), 2, true)
	mustAcquire(t, s, 1, "long", now, now.Add(time.Hour), 2, true)
	wantAtCapacity(t, s, 1, "c", now, now.Add(time.Hour), 2)
	// At its end a slot stops counting (a dead worker's slot frees itself).
	later := now.Add(time.Second)
	wantCount(t, s, 1, later, 1)
	mustAcquire(t, s, 1, "c", later, later.Add(time.Minute), 2, true)
	wantAtCapacity(t, s, 1, "d", later, later.Add(time.Minute), 2)
	// An expired slot of the same key is taken afresh.
	evenLater := now.Add(2 * time.Minute)
	mustAcquire(t, s, 1, "c", evenLater, evenLater.Add(time.Minute), 2, true)
	wantCount(t, s, 1, evenLater, 2)
}

// testSlotsConcurrent races 24 acquisitions of distinct keys for 5 slots:
// exactly 5 succeed and the rest are refused with ErrAtCapacity. With
// expired, the map starts full of expired slots, so every winner also
// prunes.
func testSlotsConcurrent(t *testing.T, s store.VerificationSlots, expired bool) {
	const n, limit = 24, 5
	now := slotTime
	if expired {
		for i := range limit {
			mustAcquire(t, s, 1, fmt.Sprintf("old%d", i), now.Add(-time.Hour), now.Add(-time.Minute), limit, true)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, refused := 0, 0
	var others []error
	for i := range n {
		wg.Go(func() {
			ok, err := s.AcquireVerificationSlot(context.Background(), 1, fmt.Sprintf("k%02d", i), now, now.Add(time.Minute), limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && ok:
				taken++
			case errors.Is(err, store.ErrAtCapacity):
				refused++
			default:
				others = append(others, fmt.Errorf("k%02d: %v, %w", i, ok, err))
			}
		})
	}
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("unexpected results: %v", others)
	}
	if taken != limit || refused != n-limit {
		t.Errorf("%d taken and %d refused of %d, want %d and %d", taken, refused, n, limit, n-limit)
	}
	wantCount(t, s, 1, now, limit)
}

func testSlotsInvalid(t *testing.T, s store.VerificationSlots) {
	now := slotTime
	tests := []struct {
		name  string
		key   string
		until time.Time
		limit int
	}{
		{"no key", "", now.Add(time.Minute), 1},
		{"no end", "k", time.Time{}, 1},
		{"zero limit", "k", now.Add(time.Minute), 0},
		{"limit too large", "k", now.Add(time.Minute), store.MaxSlotLimit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AcquireVerificationSlot(context.Background(), 1, tt.key, now, tt.until, tt.limit)
			if errcode.CodeOf(err) != errcode.InvalidArgument {
				t.Errorf("acquire with %s = %v, want InvalidArgument", tt.name, err)
			}
		})
	}
	wantCount(t, s, 1, now, 0)
}

func testSlotsCancelled(t *testing.T, s store.VerificationSlots) {
	now := slotTime
	mustAcquire(t, s, 1, "held", now, now.Add(time.Minute), 5, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"AcquireVerificationSlot": func() error {
			_, err := s.AcquireVerificationSlot(ctx, 1, "new", now, now.Add(time.Minute), 5)
			return err
		},
		"ReleaseVerificationSlot": func() error { return s.ReleaseVerificationSlot(ctx, 1, "held") },
		"CountVerificationSlots": func() error {
			_, err := s.CountVerificationSlots(ctx, 1, now)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx = %v, want an error matching context.Canceled", name, err)
		}
	}
	wantCount(t, s, 1, now, 1)
}
