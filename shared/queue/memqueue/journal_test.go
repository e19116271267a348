package memqueue_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
)

// memJournal is a queue.Journal in memory, standing for a file that
// outlives one Queue (sqlitestore's is tested against SQLite in its own
// package and end to end by `bucketlink serve` under kill -9).
type memJournal struct {
	mu        sync.Mutex
	next      int64
	entries   []queue.JournalEntry
	failWrite error
}

func (j *memJournal) Append(_ context.Context, msgs []queue.Message) ([]int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failWrite != nil {
		return nil, j.failWrite
	}
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		j.next++
		ids[i] = j.next
		j.entries = append(j.entries, queue.JournalEntry{ID: j.next, Message: m})
	}
	return ids, nil
}

func (j *memJournal) Remove(_ context.Context, ids ...int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = slices.DeleteFunc(j.entries, func(e queue.JournalEntry) bool { return slices.Contains(ids, e.ID) })
	return nil
}

func (j *memJournal) Recover(context.Context) ([]queue.JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.entries {
		j.entries[i].Recoveries++
	}
	return slices.Clone(j.entries), nil
}

func (j *memJournal) keys() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, e := range j.entries {
		out = append(out, e.Message.Key)
	}
	slices.Sort(out)
	return out
}

// TestJournalRecoversUnfinished checks durability: a message handled is
// removed from the journal, one cut short when the process stops stays,
// and the next queue on the same journal delivers it.
func TestJournalRecoversUnfinished(t *testing.T) {
	j := &memJournal{}
	started := make(chan struct{})
	q1 := newQueue(t, func(ctx context.Context, m queue.Message) error {
		if m.Key == "slow" {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}, memqueue.Options{Journal: j})
	ctx, cancel := context.WithCancel(t.Context())
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q1.Send(t.Context(), groupMsg("1", "done"), groupMsg("1", "slow"), groupMsg("2", "waiting")); err != nil {
		t.Fatal(err)
	}
	<-started
	waitUntil(t, "done and waiting to leave the journal", func() bool { return slices.Equal(j.keys(), []string{"slow"}) })
	cancel() // the process stops mid-run
	q1.Close()
	if got := j.keys(); !slices.Equal(got, []string{"slow"}) {
		t.Fatalf("journal after the stop holds %v, want [slow]", got)
	}

	got := make(chan queue.Message, 1)
	q2 := newQueue(t, func(_ context.Context, m queue.Message) error { got <- m; return nil }, memqueue.Options{Journal: j})
	if err := q2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	select {
	case m := <-got:
		if m.Key != "slow" || m.Group != "1" || m.Attempt != 1 {
			t.Errorf("recovered delivery %+v, want slow of group 1, attempt 1", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the recovered message was not delivered")
	}
	waitUntil(t, "the journal to empty", func() bool { return len(j.keys()) == 0 })
}

// TestJournalGivesUpOnRecurringMessage checks that a message recovered
// more than MaxRecoveries times (its handling may be what kills the
// process) is dead-lettered, not delivered, and leaves the journal.
func TestJournalGivesUpOnRecurringMessage(t *testing.T) {
	j := &memJournal{}
	if _, err := j.Append(t.Context(), []queue.Message{msg("poison"), msg("fine")}); err != nil {
		t.Fatal(err)
	}
	j.entries[0].Recoveries = 2 // two starts already recovered it
	delivered := make(chan string, 2)
	q := newQueue(t, func(_ context.Context, m queue.Message) error { delivered <- m.Key; return nil },
		memqueue.Options{Journal: j, MaxRecoveries: 2})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	q.Close()
	close(delivered)
	var keys []string
	for k := range delivered {
		keys = append(keys, k)
	}
	if !slices.Equal(keys, []string{"fine"}) {
		t.Errorf("delivered %v, want only fine", keys)
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || dead[0].Message.Key != "poison" || !errors.Is(dead[0].Err, memqueue.ErrTooManyRecoveries) {
		t.Errorf("dead letters %+v, want poison with ErrTooManyRecoveries", dead)
	}
	if k := j.keys(); len(k) != 0 {
		t.Errorf("journal holds %v, want nothing", k)
	}
}

// TestJournalRefusals checks that Send reports a journal failure for every
// message, and that a message Send could not enqueue leaves the journal.
func TestJournalRefusals(t *testing.T) {
	j := &memJournal{failWrite: errors.New("disk full")}
	q := newQueue(t, func(context.Context, queue.Message) error { return nil }, memqueue.Options{Journal: j, Buffer: 1})
	defer q.Close()
	err := q.Send(t.Context(), msg("a"), msg("b"))
	var se *queue.SendError
	if !errors.As(err, &se) || len(se.Failed) != 2 {
		t.Fatalf("Send with a failing journal = %v, want a SendError for both", err)
	}
	j.failWrite = nil
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	// Unstarted, buffer 1: a is accepted, b times out waiting for room.
	if err := q.Send(ctx, msg("a"), msg("b")); !errors.As(err, &se) || len(se.Failed) != 1 || se.Failed[0].Key != "b" {
		t.Fatalf("Send to a full buffer = %v, want b failed", err)
	}
	if k := j.keys(); !slices.Equal(k, []string{"a"}) {
		t.Errorf("journal holds %v, want [a]: b was not accepted", k)
	}
}
