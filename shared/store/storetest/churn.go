package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// testPagingUnderChurn pages through 1,000 configs forward, then backward,
// while a goroutine and the pager itself (between pages) create configs in
// the org and in another org and delete configs the pager has not reached
// yet. Each pass must be strictly ordered (so nothing appears twice), show
// only the org's configs, and show every config that existed throughout.
func testPagingUnderChurn(t *testing.T, s store.Store) {
	const n, limit, background = 1000, 23, 150
	org, other := newOrg(t, s), newOrg(t, s)
	seed := uint64(time.Now().UnixNano())
	t.Logf("churn seed %d", seed)

	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	seeded := make([]*storageconfig.Config, n)
	for i := range seeded {
		c := NewConfig(org)
		c.CreatedAt = base.Add(time.Duration(i/4) * time.Millisecond) // ties in fours
		c.UpdatedAt = c.CreatedAt
		seeded[i] = c
	}
	createParallel(t, s, seeded, 4)

	ch := &churn{s: s, org: org, other: other, base: base, seeded: seeded,
		rng: rand.New(rand.NewPCG(seed, 1)), known: map[string]*storageconfig.Config{}, deleted: map[string]bool{}}
	for _, c := range seeded {
		ch.known[c.UID] = c
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for range background {
			select {
			case <-stop:
				return
			default:
			}
			if err := ch.step(); err != nil {
				t.Errorf("background churn: %v", err)
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	// Forward: newest to oldest; the not-yet-visited configs are older.
	ch.setCursor(store.Position{CreatedAt: base.Add(time.Hour * 24 * 365 * 100)}, true)
	fwd := pageForward(t, s, org, limit, ch)
	ch.check(t, "forward", fwd, nil)

	// Backward: oldest to newest, from a position older than any config.
	start := store.Position{CreatedAt: base.Add(-time.Hour)}
	ch.setCursor(start, false)
	ch.mu.Lock()
	createdBefore := append([]*storageconfig.Config(nil), ch.created...)
	ch.mu.Unlock()
	back := pageBackward(t, s, org, limit, start, ch)
	ch.check(t, "backward", back, createdBefore)
}

// churn creates and deletes configs while a pager walks an org.
type churn struct {
	s          store.Store
	org, other int64
	base       time.Time
	seeded     []*storageconfig.Config

	mu      sync.Mutex
	rng     *rand.Rand
	known   map[string]*storageconfig.Config // every config of org ever created or attempted
	deleted map[string]bool                  // seeded configs deleted (marked before the call)
	created []*storageconfig.Config          // configs of org whose create returned
	cursor  store.Position                   // the pager's position
	forward bool                             // the pager's direction
}

func (ch *churn) setCursor(p store.Position, forward bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.cursor, ch.forward = p, forward
}

// step creates a config in org (at a random point of the seeded range, or
// newer than all), creates one in the other org, and deletes a seeded config
// the pager has not reached.
func (ch *churn) step() error {
	ctx := context.Background()
	ch.mu.Lock()
	c := NewConfig(ch.org)
	if ch.rng.IntN(2) == 0 {
		c.CreatedAt = ch.base.Add(time.Duration(ch.rng.IntN(260_000)) * time.Microsecond)
	}
	ch.known[c.UID] = c
	victim := ch.pickVictimLocked()
	ch.mu.Unlock()

	if err := ch.s.CreateConfig(ctx, c); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	ch.mu.Lock()
	ch.created = append(ch.created, c)
	ch.mu.Unlock()
	if err := ch.s.CreateConfig(ctx, NewConfig(ch.other)); err != nil {
		return fmt.Errorf("create in other org: %w", err)
	}
	if victim != nil {
		if err := ch.s.DeleteConfig(ctx, ch.org, victim.UID); err != nil {
			return fmt.Errorf("delete %s: %w", victim.UID, err)
		}
	}
	return nil
}

// pickVictimLocked marks and returns a seeded config beyond the cursor, or
// nil when a few random tries find none.
func (ch *churn) pickVictimLocked() *storageconfig.Config {
	for range 20 {
		c := ch.seeded[ch.rng.IntN(len(ch.seeded))]
		cmp := store.PositionOf(c).Compare(ch.cursor)
		if ch.deleted[c.UID] || (ch.forward && cmp >= 0) || (!ch.forward && cmp <= 0) {
			continue
		}
		ch.deleted[c.UID] = true
		return c
	}
	return nil
}

// check verifies one pass (newest first): only known configs of org, and
// every seeded config never deleted plus every config in also.
func (ch *churn) check(t *testing.T, pass string, got, also []*storageconfig.Config) {
	t.Helper()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	seen := make(map[string]bool, len(got))
	for _, c := range got {
		k, ok := ch.known[c.UID]
		switch {
		case !ok || c.OrgID != ch.org:
			t.Errorf("%s pass: config %s of org %d is not one of org %d's", pass, c.UID, c.OrgID, ch.org)
		default:
			for _, d := range diffConfig(k, c) {
				t.Errorf("%s pass: config %s: %s", pass, c.UID, d)
			}
		}
		seen[c.UID] = true
	}
	missing := 0
	for _, c := range ch.seeded {
		if !ch.deleted[c.UID] && !seen[c.UID] {
			missing++
			t.Errorf("%s pass: config %s (created %v) existed throughout but was not listed", pass, c.UID, c.CreatedAt)
		}
	}
	for _, c := range also {
		if !seen[c.UID] {
			missing++
			t.Errorf("%s pass: config %s (created %v) existed throughout but was not listed", pass, c.UID, c.CreatedAt)
		}
	}
	t.Logf("%s pass: %d listed, %d deleted so far, %d created so far, %d missing",
		pass, len(got), len(ch.deleted), len(ch.created), missing)
}

// pageForward walks org with After from the newest config, checking each
// page, and churns once between pages. It returns the configs newest first.
func pageForward(t *testing.T, s store.Store, org int64, limit int, ch *churn) []*storageconfig.Config {
	t.Helper()
	var out []*storageconfig.Config
	var after *store.Position
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("forward paging does not end")
		}
		p := mustList(t, s, org, store.ListOptions{Limit: limit, After: after})
		if len(p.Items) > limit {
			t.Fatalf("page %d: %d items, limit %d", pages, len(p.Items), limit)
		}
		for _, c := range p.Items {
			if after != nil && store.PositionOf(c).Compare(*after) >= 0 {
				t.Fatalf("page %d: config %s (%v) is not older than the one before it (%v %s)",
					pages, c.UID, c.CreatedAt, after.CreatedAt, after.UID)
			}
			pos := store.PositionOf(c)
			after = &pos
			out = append(out, c)
		}
		if !p.More {
			return out
		}
		if len(p.Items) == 0 {
			t.Fatalf("page %d: empty page with More set", pages)
		}
		ch.setCursor(*after, true)
		if err := ch.step(); err != nil {
			t.Fatalf("churn between pages: %v", err)
		}
	}
}

// pageBackward walks org with Before from start, checking each page, and
// churns once between pages. It returns the configs newest first.
func pageBackward(t *testing.T, s store.Store, org int64, limit int, start store.Position, ch *churn) []*storageconfig.Config {
	t.Helper()
	var pages [][]*storageconfig.Config
	before := start
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("backward paging does not end")
		}
		p := mustList(t, s, org, store.ListOptions{Limit: limit, Before: &before})
		if len(p.Items) > limit {
			t.Fatalf("page %d: %d items, limit %d", n, len(p.Items), limit)
		}
		for i, c := range p.Items {
			pos := store.PositionOf(c)
			if pos.Compare(before) <= 0 {
				t.Fatalf("page %d: config %s (%v) is not newer than the cursor (%v %s)", n, c.UID, c.CreatedAt, before.CreatedAt, before.UID)
			}
			if i > 0 && pos.Compare(store.PositionOf(p.Items[i-1])) >= 0 {
				t.Fatalf("page %d: config %s is not older than the one before it", n, c.UID)
			}
		}
		pages = append(pages, p.Items)
		if !p.More {
			break
		}
		if len(p.Items) == 0 {
			t.Fatalf("page %d: empty page with More set", n)
		}
		before = store.PositionOf(p.Items[0])
		ch.setCursor(before, false)
		if err := ch.step(); err != nil {
			t.Fatalf("churn between pages: %v", err)
		}
	}
	var out []*storageconfig.Config
	for i := len(pages) - 1; i >= 0; i-- {
		out = append(out, pages[i]...)
	}
	return out
}
