package reverify_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

var t0 = time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)

// runBoth runs RunOnce of both schedulers at once and returns the sum of
// what they enqueued.
func runBoth(t *testing.T, a, b *reverify.Scheduler) int {
	t.Helper()
	var wg sync.WaitGroup
	var na, nb int
	var ea, eb error
	wg.Go(func() { na, ea = a.RunOnce(context.Background()) })
	wg.Go(func() { nb, eb = b.RunOnce(context.Background()) })
	wg.Wait()
	if err := errors.Join(ea, eb); err != nil {
		t.Fatalf("run: %v", err)
	}
	return na + nb
}

// TestSchedulerEnqueuesOncePerInterval moves the clock through three
// intervals with two schedulers running at once each time: every due
// config is enqueued exactly once per interval, configs not yet due and
// configs that do not re-verify never.
func TestSchedulerEnqueuesOncePerInterval(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := kind.open(t)
			org := newOrg(t, s, "acme")
			const interval = 15 * time.Minute
			var every, late []string
			for range 23 {
				c := storetest.NewScheduledConfig(org.ID, interval, t0.Add(interval))
				every = append(every, c.UID)
				mustCreate(t, s, c)
			}
			for range 2 {
				c := storetest.NewScheduledConfig(org.ID, interval, t0.Add(40*time.Minute))
				late = append(late, c.UID)
				mustCreate(t, s, c)
			}
			for range 3 {
				mustCreate(t, s, storetest.NewConfig(org.ID)) // off
			}

			in := newInbox(nil)
			q := startQueue(t, in)
			clk := &clock{now: t0}
			sched := func() *reverify.Scheduler {
				return &reverify.Scheduler{Store: s, Sender: q, Clock: clk.Now, Batch: 5, ClaimConcurrency: 3, Logger: discard}
			}
			a, b := sched(), sched()

			steps := []struct {
				at   time.Duration
				want int
			}{
				{0, 0},
				{14 * time.Minute, 0},
				{interval, len(every)},             // due; claimed until 30m
				{20 * time.Minute, 0},              // claimed
				{30 * time.Minute, len(every)},     // the next interval
				{45 * time.Minute, len(every) + 2}, // and the late ones
				{46 * time.Minute, 0},
			}
			total := 0
			for _, st := range steps {
				clk.Set(t0.Add(st.at))
				if got := runBoth(t, a, b); got != st.want {
					t.Fatalf("at t0+%v: enqueued %d, want %d", st.at, got, st.want)
				}
				total += st.want
			}
			in.wait(t, total)
			counts, got, errs := in.snapshot()
			if got != total || len(errs) != 0 {
				t.Fatalf("deliveries %d (errors %v), want %d", got, errs, total)
			}
			for _, uid := range every {
				if counts[uid] != 3 {
					t.Errorf("config %s delivered %d times, want 3 (once per interval)", uid, counts[uid])
				}
			}
			for _, uid := range late {
				if counts[uid] != 1 {
					t.Errorf("late config %s delivered %d times, want 1", uid, counts[uid])
				}
			}
			if len(counts) != len(every)+len(late) {
				t.Errorf("%d configs delivered, want %d: the others do not re-verify", len(counts), len(every)+len(late))
			}
		})
	}
}

// TestSchedulerMaxPerRun stops a run at MaxPerRun; the next run takes the
// rest.
func TestSchedulerMaxPerRun(t *testing.T) {
	s := openSQLite(t)
	org := newOrg(t, s, "acme")
	for range 7 {
		mustCreate(t, s, storetest.NewScheduledConfig(org.ID, time.Hour, t0))
	}
	in := newInbox(nil)
	sched := &reverify.Scheduler{Store: s, Sender: startQueue(t, in), Clock: func() time.Time { return t0 }, Batch: 2, MaxPerRun: 5, Logger: discard}
	for i, want := range []int{5, 2, 0} {
		n, err := sched.RunOnce(context.Background())
		if err != nil || n != want {
			t.Fatalf("run %d: enqueued %d, %v; want %d", i, n, err, want)
		}
	}
	in.wait(t, 7)
}

// TestSchedulerSendFailureMovesClaimsBack sends to a closed queue: the run
// fails, enqueues nothing, and leaves every config due, so that the next
// run (with a working queue) enqueues them.
func TestSchedulerSendFailureMovesClaimsBack(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := kind.open(t)
			org := newOrg(t, s, "acme")
			var uids []string
			for range 4 {
				c := storetest.NewScheduledConfig(org.ID, time.Hour, t0.Add(-time.Minute))
				uids = append(uids, c.UID)
				mustCreate(t, s, c)
			}
			closed := newQueue(t, newInbox(nil))
			closed.Close()
			now := func() time.Time { return t0 }
			broken := &reverify.Scheduler{Store: s, Sender: closed, Clock: now, Logger: discard}
			n, err := broken.RunOnce(context.Background())
			if !errors.Is(err, queue.ErrClosed) || n != 0 {
				t.Fatalf("run with a closed queue: enqueued %d, %v; want 0 and ErrClosed", n, err)
			}
			due, err := s.DueConfigs(context.Background(), t0, 10)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(due))
			for i, c := range due {
				got[i] = c.UID
			}
			if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(uids))) {
				t.Fatalf("due after the failed run: %v, want every config %v", got, uids)
			}
			in := newInbox(nil)
			working := &reverify.Scheduler{Store: s, Sender: startQueue(t, in), Clock: now, Logger: discard}
			if n, err := working.RunOnce(context.Background()); err != nil || n != len(uids) {
				t.Fatalf("run after the failure: enqueued %d, %v; want %d", n, err, len(uids))
			}
			in.wait(t, len(uids))
		})
	}
}

func mustCreate(t *testing.T, s store.Store, c *storageconfig.Config) {
	t.Helper()
	if err := s.CreateConfig(context.Background(), c); err != nil {
		t.Fatalf("create config: %v", err)
	}
}

var discard = slog.New(slog.DiscardHandler)

// TestSchedulerRun runs the loop with a short period: configs that fall
// due while it runs are enqueued without anyone calling RunOnce, and the
// loop ends with its context.
func TestSchedulerRun(t *testing.T) {
	s := openSQLite(t)
	org := newOrg(t, s, "acme")
	clk := &clock{now: t0}
	for range 3 {
		mustCreate(t, s, storetest.NewScheduledConfig(org.ID, time.Hour, t0.Add(time.Minute)))
	}
	in := newInbox(nil)
	sched := &reverify.Scheduler{Store: s, Sender: startQueue(t, in), Clock: clk.Now, Logger: discard}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx, 10*time.Millisecond); close(done) }()
	time.Sleep(50 * time.Millisecond)
	if _, total, _ := in.snapshot(); total != 0 {
		t.Fatalf("%d enqueued before anything was due", total)
	}
	clk.Set(t0.Add(time.Minute))
	in.wait(t, 3)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, total, _ := in.snapshot(); total != 3 {
		t.Errorf("%d enqueued, want 3 (once each)", total)
	}
}
