package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// runSchedules covers store.Schedules: finding due configs, claiming them,
// and the verification history.
//
// Beyond the contract in package store, the suite pins down that a claim
// leaves every field but NextReverifyAt and Version alone (UpdatedAt
// included), that a claimed config is no longer due, that a config that
// stops re-verifying (interval 0 written by UpdateConfig) leaves the
// index, and that history entries round-trip (times as the same instant in
// UTC, nil and empty checks alike).
func runSchedules(t *testing.T, open opener) {
	t.Run("Due", func(t *testing.T) { testDue(t, open(t)) })
	t.Run("DueAcrossMany", func(t *testing.T) { testDueMany(t, open(t)) })
	t.Run("DueLimit", func(t *testing.T) {
		s := open(t)
		for _, limit := range []int{0, -1, store.MaxDueLimit + 1} {
			_, err := s.DueConfigs(context.Background(), storageconfig.Now(), limit)
			if errcode.CodeOf(err) != errcode.InvalidArgument {
				t.Errorf("DueConfigs limit %d: got %v, want InvalidArgument", limit, err)
			}
		}
	})
	t.Run("Claim", func(t *testing.T) { testClaim(t, open(t)) })
	t.Run("ClaimConcurrent", func(t *testing.T) { testClaimConcurrent(t, open(t)) })
	t.Run("History", func(t *testing.T) { testHistory(t, open(t)) })
	t.Run("HistoryPaging", func(t *testing.T) { testHistoryPaging(t, open(t)) })
	t.Run("HistoryBounded", func(t *testing.T) { testHistoryBounded(t, open(t)) })
	t.Run("HistoryConcurrent", func(t *testing.T) { testHistoryConcurrent(t, open(t)) })
	t.Run("HistoryDeletedWithConfig", func(t *testing.T) { testHistoryDeleted(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testSchedulesCancelled(t, open(t)) })
}

// scheduleEpoch is the fixed "now" of the schedule tests, so that due
// times are exact.
var scheduleEpoch = time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)

// NewScheduledConfig returns NewConfig(orgID) re-verifying every interval,
// next due at next.
func NewScheduledConfig(orgID int64, interval time.Duration, next time.Time) *storageconfig.Config {
	c := NewConfig(orgID)
	c.IsVerified, c.LastVerifiedAt = true, c.CreatedAt
	c.ReverifyInterval, c.NextReverifyAt = interval, next.UTC().Truncate(time.Microsecond)
	return c
}

// uidsOf returns the UIDs of cs in order.
func uidsOf(cs []*storageconfig.Config) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.UID
	}
	return out
}

// mustDue returns DueConfigs(now, limit) or fails t.
func mustDue(t *testing.T, s store.Store, now time.Time, limit int) []*storageconfig.Config {
	t.Helper()
	due, err := s.DueConfigs(context.Background(), now, limit)
	if err != nil {
		t.Fatalf("due configs at %v: %v", now, err)
	}
	return due
}

func testDue(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := scheduleEpoch
	orgA, orgB := newOrg(t, s), newOrg(t, s)
	threeAgo := NewScheduledConfig(orgA, time.Hour, now.Add(-3*time.Hour))
	threeAgo.ReverifyFailures = 2
	twoAgo := NewScheduledConfig(orgB, 15*time.Minute, now.Add(-2*time.Hour))
	oneAgo := NewScheduledConfig(orgA, time.Hour, now.Add(-time.Hour))
	exactlyNow := NewScheduledConfig(orgB, time.Hour, now)
	later := NewScheduledConfig(orgA, time.Hour, now.Add(time.Microsecond))
	off := NewConfig(orgA) // never re-verifies
	mustCreate(t, s, later, oneAgo, off, exactlyNow, threeAgo, twoAgo)
	want := []*storageconfig.Config{threeAgo, twoAgo, oneAgo, exactlyNow}

	due := mustDue(t, s, now, 100)
	if got := uidsOf(due); !slices.Equal(got, uidsOf(want)) {
		t.Fatalf("due at now: got %v, want %v (most overdue first)", got, uidsOf(want))
	}
	for i, c := range due {
		w := want[i]
		if c.OrgID != w.OrgID || c.Version != w.Version || c.ReverifyInterval != w.ReverifyInterval ||
			!c.NextReverifyAt.Equal(w.NextReverifyAt) || c.ReverifyFailures != w.ReverifyFailures {
			t.Errorf("due config %s: org %d version %d interval %v next %v failures %d; want %d %d %v %v %d",
				c.UID, c.OrgID, c.Version, c.ReverifyInterval, c.NextReverifyAt, c.ReverifyFailures,
				w.OrgID, w.Version, w.ReverifyInterval, w.NextReverifyAt, w.ReverifyFailures)
		}
	}
	if got := uidsOf(mustDue(t, s, now, 2)); !slices.Equal(got, uidsOf(want[:2])) {
		t.Errorf("due at now, limit 2: got %v, want the two most overdue %v", got, uidsOf(want[:2]))
	}
	if got := mustDue(t, s, now.Add(-4*time.Hour), 100); len(got) != 0 {
		t.Errorf("due before every next-due time: got %v, want none", uidsOf(got))
	}

	// Switched off, rescheduled to the future, deleted: no longer due.
	c := mustGet(t, s, oneAgo.UID)
	c.ReverifyInterval, c.NextReverifyAt = 0, time.Time{}
	if err := s.UpdateConfig(ctx, c); err != nil {
		t.Fatalf("switch off: %v", err)
	}
	c = mustGet(t, s, twoAgo.UID)
	c.NextReverifyAt = now.Add(time.Hour)
	if err := s.UpdateConfig(ctx, c); err != nil {
		t.Fatalf("reschedule: %v", err)
	}
	if err := s.DeleteConfig(ctx, orgA, threeAgo.UID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got := uidsOf(mustDue(t, s, now, 100)); !slices.Equal(got, []string{exactlyNow.UID}) {
		t.Errorf("due after switching off, rescheduling and deleting: got %v, want only %s", got, exactlyNow.UID)
	}
	// Switched back on: due again.
	c = mustGet(t, s, oneAgo.UID)
	c.ReverifyInterval, c.NextReverifyAt = time.Hour, now.Add(-time.Minute)
	if err := s.UpdateConfig(ctx, c); err != nil {
		t.Fatalf("switch on: %v", err)
	}
	if got := uidsOf(mustDue(t, s, now, 100)); !slices.Equal(got, []string{oneAgo.UID, exactlyNow.UID}) {
		t.Errorf("due after switching back on: got %v, want %v", got, []string{oneAgo.UID, exactlyNow.UID})
	}
}

// testDueMany checks the order and the limit over more configs than any
// one partition of an index would hold.
func testDueMany(t *testing.T, s store.Store) {
	now := scheduleEpoch
	org := newOrg(t, s)
	var due []*storageconfig.Config
	for i := range 40 {
		c := NewScheduledConfig(org, time.Hour, now.Add(-time.Duration(40-i)*time.Minute))
		due = append(due, c)
		mustCreate(t, s, c)
	}
	for i := range 5 {
		mustCreate(t, s, NewScheduledConfig(org, time.Hour, now.Add(time.Duration(i+1)*time.Second)))
	}
	if got := uidsOf(mustDue(t, s, now, 25)); !slices.Equal(got, uidsOf(due[:25])) {
		t.Errorf("due, limit 25: got %v, want the 25 most overdue %v", got, uidsOf(due[:25]))
	}
	if got := uidsOf(mustDue(t, s, now, store.MaxDueLimit)); !slices.Equal(got, uidsOf(due)) {
		t.Errorf("due, no effective limit: got %d configs, want the 40 due ones", len(got))
	}
}

func testClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := scheduleEpoch
	org, other := newOrg(t, s), newOrg(t, s)
	c := NewScheduledConfig(org, time.Hour, now.Add(-time.Minute))
	mustCreate(t, s, c)
	due := mustDue(t, s, now, 10)
	if len(due) != 1 {
		t.Fatalf("due: got %v, want %s", uidsOf(due), c.UID)
	}
	d := due[0]
	next := now.Add(time.Hour)

	for _, tt := range []struct {
		name     string
		claim    *storageconfig.Config
		expected time.Time
		next     time.Time
		want     error
	}{
		{"other org", &storageconfig.Config{UID: c.UID, OrgID: other}, d.NextReverifyAt, next, errcode.ErrNotFound},
		{"missing", &storageconfig.Config{UID: NewConfig(org).UID, OrgID: org}, d.NextReverifyAt, next, errcode.ErrNotFound},
		{"stale expected time", &storageconfig.Config{UID: c.UID, OrgID: org}, d.NextReverifyAt.Add(-time.Second), next, errcode.ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, s.ClaimDue(ctx, tt.claim, tt.expected, tt.next), tt.want, "claim")
			wantConfig(t, mustGet(t, s, c.UID), c)
		})
	}
	t.Run("zero times", func(t *testing.T) {
		for _, times := range [][2]time.Time{{{}, next}, {d.NextReverifyAt, {}}} {
			err := s.ClaimDue(ctx, clone(d), times[0], times[1])
			if errcode.CodeOf(err) != errcode.InvalidArgument {
				t.Errorf("claim with times %v: got %v, want InvalidArgument", times, err)
			}
		}
	})

	if err := s.ClaimDue(ctx, d, d.NextReverifyAt, next); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if !d.NextReverifyAt.Equal(next) || d.Version != c.Version+1 {
		t.Errorf("after the claim: next %v version %d, want %v %d", d.NextReverifyAt, d.Version, next, c.Version+1)
	}
	want := clone(c)
	want.NextReverifyAt, want.Version = next, c.Version+1
	wantConfig(t, mustGet(t, s, c.UID), want) // UpdatedAt and the rest untouched
	if got := mustDue(t, s, now, 10); len(got) != 0 {
		t.Errorf("due after the claim: got %v, want none", uidsOf(got))
	}
	if got := uidsOf(mustDue(t, s, next, 10)); !slices.Equal(got, []string{c.UID}) {
		t.Errorf("due at the new next-due time: got %v, want %s", got, c.UID)
	}
	// The same claim again loses; so does an update from before the claim.
	wantCode(t, s.ClaimDue(ctx, clone(c), c.NextReverifyAt, next.Add(time.Hour)), errcode.ErrConflict, "claim again")
	stale := clone(c)
	stale.Name = "stale"
	wantCode(t, s.UpdateConfig(ctx, stale), errcode.ErrConflict, "update read before the claim")

	// Switched off: nothing to claim.
	cur := mustGet(t, s, c.UID)
	cur.ReverifyInterval, cur.NextReverifyAt = 0, time.Time{}
	if err := s.UpdateConfig(ctx, cur); err != nil {
		t.Fatalf("switch off: %v", err)
	}
	wantCode(t, s.ClaimDue(ctx, clone(cur), next, next.Add(time.Hour)), errcode.ErrConflict, "claim a config that is off")
}

// testClaimConcurrent races claims of the same due time: exactly one wins.
func testClaimConcurrent(t *testing.T, s store.Store) {
	now := scheduleEpoch
	org := newOrg(t, s)
	c := NewScheduledConfig(org, time.Hour, now.Add(-time.Minute))
	mustCreate(t, s, c)
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			errs[i] = s.ClaimDue(context.Background(), clone(c), c.NextReverifyAt, now.Add(time.Duration(i+1)*time.Minute))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errcode.ErrConflict):
			t.Errorf("claim %d: got %v, want success or ErrConflict", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, racers)
	}
	if got := mustGet(t, s, c.UID); got.Version != c.Version+1 {
		t.Errorf("version after the race: %d, want %d", got.Version, c.Version+1)
	}
}

// entry returns a history entry at t with the given trigger and n checks.
func entry(at time.Time, trigger store.Trigger, verified bool, n int) store.VerificationEntry {
	v := store.VerificationEntry{At: at, Verified: verified, Trigger: trigger}
	for i := range n {
		code := "ok"
		if !verified {
			code = "access_denied"
		}
		v.Checks = append(v.Checks, verification.Check{Name: fmt.Sprintf("check-%d", i), OK: verified, Code: code, Message: "message ✓"})
	}
	return v
}

// mustAppend appends v or fails t.
func mustAppend(t testing.TB, s store.Store, org int64, uid string, v store.VerificationEntry) {
	t.Helper()
	if err := s.AppendVerification(context.Background(), org, uid, v); err != nil {
		t.Fatalf("append verification of %s: %v", uid, err)
	}
}

// mustHistory returns a page of the config's history or fails t.
func mustHistory(t testing.TB, s store.Store, org int64, uid string, opts store.HistoryOptions) store.HistoryPage {
	t.Helper()
	page, err := s.ListVerifications(context.Background(), org, uid, opts)
	if err != nil {
		t.Fatalf("list verifications of %s (%+v): %v", uid, opts, err)
	}
	return page
}

// seqsOf returns the sequence numbers of a page, in order.
func seqsOf(p store.HistoryPage) []int64 {
	out := make([]int64, len(p.Items))
	for i, v := range p.Items {
		out[i] = v.Seq
	}
	return out
}

func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	org, other := newOrg(t, s), newOrg(t, s)
	c := NewConfig(org)
	mustCreate(t, s, c)
	zone := time.FixedZone("UTC-3", -3*3600)
	entries := []store.VerificationEntry{
		entry(time.Date(2030, 1, 1, 10, 0, 0, 123456000, zone), store.TriggerCreate, true, 4),
		entry(time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC), store.TriggerSchedule, false, 4),
		entry(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), store.TriggerTest, true, 0),
		entry(time.Date(2030, 1, 1, 13, 0, 0, 0, time.UTC), store.TriggerVerify, true, 1),
	}
	entries[3].Seq = 99 // ignored: the store numbers entries
	for _, v := range entries {
		mustAppend(t, s, org, c.UID, v)
	}
	page := mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: 10})
	if page.More || !slices.Equal(seqsOf(page), []int64{4, 3, 2, 1}) {
		t.Fatalf("history: seqs %v more %v, want [4 3 2 1] and no more", seqsOf(page), page.More)
	}
	for i, got := range page.Items {
		want := entries[len(entries)-1-i]
		if !got.At.Equal(want.At) || got.At.Location() != time.UTC || got.Verified != want.Verified ||
			got.Trigger != want.Trigger || len(got.Checks) != len(want.Checks) ||
			(len(want.Checks) > 0 && !slices.Equal(got.Checks, want.Checks)) {
			t.Errorf("entry %d: got %+v, want %+v (at in UTC)", got.Seq, got, want)
		}
	}

	for _, tt := range []struct {
		name string
		org  int64
		uid  string
		v    store.VerificationEntry
		want errcode.Code
	}{
		{"missing config", org, NewConfig(org).UID, entries[0], errcode.NotFound},
		{"config of another org", other, c.UID, entries[0], errcode.NotFound},
		{"no time", org, c.UID, store.VerificationEntry{Trigger: store.TriggerTest}, errcode.InvalidArgument},
		{"unknown trigger", org, c.UID, store.VerificationEntry{At: scheduleEpoch, Trigger: "cron"}, errcode.InvalidArgument},
		{"too many checks", org, c.UID, entry(scheduleEpoch, store.TriggerTest, true, store.MaxChecks+1), errcode.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AppendVerification(ctx, tt.org, tt.uid, tt.v)
			if errcode.CodeOf(err) != tt.want {
				t.Fatalf("append: got %v, want code %v", err, tt.want)
			}
		})
	}
	if got := mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: 10}); len(got.Items) != 4 {
		t.Errorf("failed appends changed the history: %v", seqsOf(got))
	}
	if got := mustHistory(t, s, other, c.UID, store.HistoryOptions{Limit: 10}); len(got.Items) != 0 || got.More {
		t.Errorf("history listed under another org: %v", seqsOf(got))
	}
	if got := mustHistory(t, s, org, NewConfig(org).UID, store.HistoryOptions{Limit: 10}); len(got.Items) != 0 {
		t.Errorf("history of a missing config: %v", seqsOf(got))
	}
	for _, opts := range []store.HistoryOptions{{Limit: 0}, {Limit: store.MaxLimit + 1}, {Limit: 1, After: 2, Before: 1}, {Limit: 1, After: -1}} {
		_, err := s.ListVerifications(ctx, org, c.UID, opts)
		if errcode.CodeOf(err) != errcode.InvalidArgument {
			t.Errorf("list with %+v: got %v, want InvalidArgument", opts, err)
		}
	}
}

func testHistoryPaging(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	c := NewConfig(org)
	mustCreate(t, s, c)
	for i := range 7 {
		mustAppend(t, s, org, c.UID, entry(scheduleEpoch.Add(time.Duration(i)*time.Minute), store.TriggerSchedule, i%2 == 0, 2))
	}
	tests := []struct {
		name     string
		opts     store.HistoryOptions
		want     []int64
		wantMore bool
	}{
		{"first page", store.HistoryOptions{Limit: 3}, []int64{7, 6, 5}, true},
		{"after 5", store.HistoryOptions{Limit: 3, After: 5}, []int64{4, 3, 2}, true},
		{"after 2: the last", store.HistoryOptions{Limit: 3, After: 2}, []int64{1}, false},
		{"after 1: past the end", store.HistoryOptions{Limit: 3, After: 1}, []int64{}, false},
		{"before 4: back to the top", store.HistoryOptions{Limit: 3, Before: 4}, []int64{7, 6, 5}, false},
		{"before 1", store.HistoryOptions{Limit: 3, Before: 1}, []int64{4, 3, 2}, true},
		{"before 7: past the top", store.HistoryOptions{Limit: 3, Before: 7}, []int64{}, false},
		{"all at once", store.HistoryOptions{Limit: 7}, []int64{7, 6, 5, 4, 3, 2, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := mustHistory(t, s, org, c.UID, tt.opts)
			if got := seqsOf(page); !slices.Equal(got, tt.want) || page.More != tt.wantMore {
				t.Errorf("page: seqs %v more %v, want %v more %v", got, page.More, tt.want, tt.wantMore)
			}
		})
	}
}

// testHistoryBounded appends past MaxHistory: the oldest entries go.
func testHistoryBounded(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	c := NewConfig(org)
	mustCreate(t, s, c)
	const extra = 5
	for i := range store.MaxHistory + extra {
		mustAppend(t, s, org, c.UID, entry(scheduleEpoch.Add(time.Duration(i)*time.Second), store.TriggerSchedule, true, 1))
	}
	page := mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: store.MaxLimit})
	if len(page.Items) != store.MaxHistory || page.More {
		t.Fatalf("history after %d appends: %d entries (more %v), want %d", store.MaxHistory+extra, len(page.Items), page.More, store.MaxHistory)
	}
	if first, last := page.Items[0].Seq, page.Items[len(page.Items)-1].Seq; first != store.MaxHistory+extra || last != extra+1 {
		t.Errorf("history after %d appends: seqs %d..%d, want %d..%d", store.MaxHistory+extra, first, last, store.MaxHistory+extra, extra+1)
	}
}

// testHistoryConcurrent appends from several goroutines at once: every
// entry is kept, each with its own number.
func testHistoryConcurrent(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	c := NewConfig(org)
	mustCreate(t, s, c)
	const writers = 4
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.AppendVerification(context.Background(), org, c.UID, entry(scheduleEpoch, store.TriggerTest, true, 1))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	if got := seqsOf(mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: 10})); !slices.Equal(got, []int64{4, 3, 2, 1}) {
		t.Errorf("history after %d concurrent appends: %v, want [4 3 2 1]", writers, got)
	}
}

// testHistoryDeleted checks that the history goes with its config and is
// never resurrected by a late append.
func testHistoryDeleted(t *testing.T, s store.Store) {
	ctx := context.Background()
	org := newOrg(t, s)
	c, keep := NewConfig(org), NewConfig(org)
	mustCreate(t, s, c, keep)
	for i := range 3 {
		mustAppend(t, s, org, c.UID, entry(scheduleEpoch.Add(time.Duration(i)*time.Second), store.TriggerTest, true, 1))
		mustAppend(t, s, org, keep.UID, entry(scheduleEpoch.Add(time.Duration(i)*time.Second), store.TriggerTest, true, 1))
	}
	if err := s.DeleteConfig(ctx, org, c.UID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got := mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: 10}); len(got.Items) != 0 {
		t.Errorf("history of a deleted config: %v", seqsOf(got))
	}
	err := s.AppendVerification(ctx, org, c.UID, entry(scheduleEpoch, store.TriggerSchedule, false, 1))
	wantCode(t, err, errcode.ErrNotFound, "append to a deleted config")
	if got := mustHistory(t, s, org, c.UID, store.HistoryOptions{Limit: 10}); len(got.Items) != 0 {
		t.Errorf("history of a deleted config after a late append: %v", seqsOf(got))
	}
	if got := seqsOf(mustHistory(t, s, org, keep.UID, store.HistoryOptions{Limit: 10})); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Errorf("history of another config after the delete: %v, want [3 2 1]", got)
	}
}

func testSchedulesCancelled(t *testing.T, s store.Store) {
	org := newOrg(t, s)
	c := NewScheduledConfig(org, time.Hour, scheduleEpoch)
	mustCreate(t, s, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"DueConfigs", func() error { _, err := s.DueConfigs(ctx, scheduleEpoch, 10); return err }},
		{"ClaimDue", func() error { return s.ClaimDue(ctx, clone(c), c.NextReverifyAt, scheduleEpoch.Add(time.Hour)) }},
		{"AppendVerification", func() error {
			return s.AppendVerification(ctx, org, c.UID, entry(scheduleEpoch, store.TriggerTest, true, 1))
		}},
		{"ListVerifications", func() error {
			_, err := s.ListVerifications(ctx, org, c.UID, store.HistoryOptions{Limit: 10})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want an error matching context.Canceled", err)
			}
		})
	}
	wantConfig(t, mustGet(t, s, c.UID), c)
}
