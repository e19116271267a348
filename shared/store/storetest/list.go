package storetest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runList covers ListConfigs: order, isolation between orgs, and paging.
func runList(t *testing.T, open opener) {
	t.Run("NewestFirstWithTies", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		cs := configsWithTies(org, 40, 3)
		// Insert in an order unrelated to the listing order.
		shuffled := slices.Clone(cs)
		slices.SortFunc(shuffled, func(a, b *storageconfig.Config) int { return bytes.Compare(a.Sealed, b.Sealed) })
		mustCreate(t, s, shuffled...)
		page := mustList(t, s, org, store.ListOptions{Limit: store.MaxLimit})
		wantPage(t, page, cs, false)
		for i, c := range page.Items {
			wantConfig(t, c, cs[i])
		}
	})

	t.Run("PerOrg", func(t *testing.T) {
		s := open(t)
		orgA, orgB, empty := newOrg(t, s), newOrg(t, s), newOrg(t, s)
		a, b := configsWithTies(orgA, 7, 2), configsWithTies(orgB, 5, 2)
		// Interleave the two orgs' creates, with equal CreatedAt across orgs.
		for i := range a {
			mustCreate(t, s, a[i])
			if i < len(b) {
				b[i].CreatedAt = a[i].CreatedAt
				mustCreate(t, s, b[i])
			}
		}
		sortNewestFirst(b)
		wantPage(t, mustList(t, s, orgA, store.ListOptions{Limit: 100}), a, false)
		wantPage(t, mustList(t, s, orgB, store.ListOptions{Limit: 100}), b, false)
		wantPage(t, mustList(t, s, empty, store.ListOptions{Limit: 100}), nil, false)
		wantPage(t, mustList(t, s, empty+1000, store.ListOptions{Limit: 100}), nil, false)
	})

	t.Run("Paging", func(t *testing.T) {
		tests := []struct {
			name         string
			count, limit int
		}{
			{"partial last page", 25, 10},
			{"exact last page", 20, 10},
			{"one per page", 5, 1},
			{"single page", 3, 10},
			{"limit equals count", 10, 10},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := open(t)
				org := newOrg(t, s)
				cs := configsWithTies(org, tt.count, 3)
				mustCreate(t, s, cs...)
				testPagingFrom(t, s, org, cs, tt.limit)
			})
		}
	})

	t.Run("CursorOfDeletedConfig", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		cs := configsWithTies(org, 9, 3)
		mustCreate(t, s, cs...)
		gone := cs[4]
		if err := s.DeleteConfig(context.Background(), org, gone.UID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		pos := store.PositionOf(gone)
		wantPage(t, mustList(t, s, org, store.ListOptions{Limit: 3, After: &pos}), cs[5:8], true)
		wantPage(t, mustList(t, s, org, store.ListOptions{Limit: 3, Before: &pos}), cs[1:4], true)
		wantPage(t, mustList(t, s, org, store.ListOptions{Limit: 4, Before: &pos}), cs[0:4], false)
	})

	t.Run("InvalidOptions", func(t *testing.T) {
		s := open(t)
		org := newOrg(t, s)
		pos := store.PositionOf(NewConfig(org))
		tests := []struct {
			name string
			opts store.ListOptions
		}{
			{"zero limit", store.ListOptions{}},
			{"negative limit", store.ListOptions{Limit: -1}},
			{"limit over max", store.ListOptions{Limit: store.MaxLimit + 1}},
			{"after and before", store.ListOptions{Limit: 10, After: &pos, Before: &pos}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.ListConfigs(context.Background(), org, tt.opts)
				if got := errcode.CodeOf(err); got != errcode.InvalidArgument {
					t.Errorf("list %+v: got error %v (code %v), want code %v", tt.opts, err, got, errcode.InvalidArgument)
				}
			})
		}
	})

	t.Run("ThousandUnderChurn", func(t *testing.T) { testPagingUnderChurn(t, open(t)) })
}

// testPagingFrom lists after and before every position of cs (newest first,
// the whole of org) and checks each page and its More flag.
func testPagingFrom(t *testing.T, s store.Store, org int64, cs []*storageconfig.Config, limit int) {
	t.Helper()
	n := len(cs)
	first := mustList(t, s, org, store.ListOptions{Limit: limit})
	wantPage(t, first, cs[:min(n, limit)], n > limit)
	for k, c := range cs {
		pos := store.PositionOf(c)
		next := mustList(t, s, org, store.ListOptions{Limit: limit, After: &pos})
		end := min(n, k+1+limit)
		wantPage(t, next, cs[k+1:end], end < n)
		prev := mustList(t, s, org, store.ListOptions{Limit: limit, Before: &pos})
		start := max(0, k-limit)
		wantPage(t, prev, cs[start:k], start > 0)
	}
	// Walk forward to the end, then back to the start, page by page.
	maxPages := n/limit + 2
	var fwd []*storageconfig.Config
	var cursor *store.Position
	for pages := 0; ; pages++ {
		if pages > maxPages {
			t.Fatalf("forward walk: more than %d pages of %d for %d configs", maxPages, limit, n)
		}
		p := mustList(t, s, org, store.ListOptions{Limit: limit, After: cursor})
		fwd = append(fwd, p.Items...)
		if !p.More {
			break
		}
		if len(p.Items) == 0 {
			t.Fatal("forward walk: empty page with More set")
		}
		pos := store.PositionOf(p.Items[len(p.Items)-1])
		cursor = &pos
	}
	wantUIDs(t, "forward walk", fwd, cs)
	if n == 0 {
		return
	}
	var back []*storageconfig.Config
	pos := store.PositionOf(cs[n-1])
	back = append(back, cs[n-1])
	cursor = &pos
	for pages := 0; ; pages++ {
		if pages > maxPages {
			t.Fatalf("backward walk: more than %d pages of %d for %d configs", maxPages, limit, n)
		}
		p := mustList(t, s, org, store.ListOptions{Limit: limit, Before: cursor})
		back = append(slices.Clone(p.Items), back...)
		if !p.More {
			break
		}
		if len(p.Items) == 0 {
			t.Fatal("backward walk: empty page with More set")
		}
		pos := store.PositionOf(p.Items[0])
		cursor = &pos
	}
	wantUIDs(t, "backward walk", back, cs)
}

// configsWithTies returns n configs of org, newest first, in groups of tie
// configs sharing one CreatedAt (so that UID decides their order).
func configsWithTies(org int64, n, tie int) []*storageconfig.Config {
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	cs := make([]*storageconfig.Config, n)
	for i := range cs {
		c := NewConfig(org)
		c.CreatedAt = base.Add(time.Duration(i/tie) * time.Microsecond)
		c.UpdatedAt = c.CreatedAt
		cs[i] = c
	}
	sortNewestFirst(cs)
	return cs
}

// sortNewestFirst sorts cs in listing order: (CreatedAt desc, UID desc).
func sortNewestFirst(cs []*storageconfig.Config) {
	slices.SortFunc(cs, func(a, b *storageconfig.Config) int {
		return store.PositionOf(b).Compare(store.PositionOf(a))
	})
}

// mustList lists or fails t.
func mustList(t testing.TB, s store.Store, org int64, opts store.ListOptions) store.Page {
	t.Helper()
	p, err := s.ListConfigs(context.Background(), org, opts)
	if err != nil {
		t.Fatalf("list configs of org %d (%+v): %v", org, opts, err)
	}
	return p
}

// wantPage fails t unless page holds exactly want, in order, with More.
func wantPage(t testing.TB, page store.Page, want []*storageconfig.Config, more bool) {
	t.Helper()
	wantUIDs(t, "page", page.Items, want)
	if page.More != more {
		t.Errorf("page %v: More = %v, want %v", uids(page.Items), page.More, more)
	}
}

// wantUIDs fails t unless got and want name the same configs in order.
func wantUIDs(t testing.TB, what string, got, want []*storageconfig.Config) {
	t.Helper()
	if g, w := uids(got), uids(want); !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %v\n want %v", what, g, w)
	}
}

func uids(cs []*storageconfig.Config) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.UID
	}
	return out
}

// createParallel creates cs with a few concurrent writers.
func createParallel(t testing.TB, s store.Store, cs []*storageconfig.Config, workers int) {
	t.Helper()
	work := make(chan *storageconfig.Config)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				if err := s.CreateConfig(context.Background(), c); err != nil {
					errs <- err
					for range work { // drain so the feeder does not block
					}
					return
				}
			}
		})
	}
	for _, c := range cs {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create configs: %v", err)
	}
}
