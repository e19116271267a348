package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
)

// TestJournalSurvivesReopen checks the queue journal in the file: what was
// appended and not removed is recovered by the next process (a reopened
// store), in order and with its group, each Recover counting one more
// recovery; a row that is not a valid message is dropped.
func TestJournalSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bucketlink.db")
	s := open(t, path)
	msgs := []queue.Message{
		{Kind: queue.KindVerify, Key: "rec-1", Group: "1"},
		{Kind: queue.KindReverify, Key: "cfg-2", Group: "2"},
		{Kind: queue.KindVerify, Key: "rec-3"},
	}
	ids, err := s.QueueJournal().Append(ctx, msgs)
	if err != nil || len(ids) != 3 || !slices.IsSorted(ids) {
		t.Fatalf("Append = %v, %v; want 3 increasing ids", ids, err)
	}
	if err := s.QueueJournal().Remove(ctx, ids[0], 12345); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	closeStore(t, s)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO queue_journal (kind, key, grp, created_at, recoveries) VALUES ('BAD KIND', 'k', '', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = open(t, path)
	defer closeStore(t, s)
	for round := 1; round <= 2; round++ {
		got, err := s.QueueJournal().Recover(ctx)
		if err != nil {
			t.Fatalf("Recover: %v", err)
		}
		want := []queue.JournalEntry{{ID: ids[1], Message: msgs[1], Recoveries: round}, {ID: ids[2], Message: msgs[2], Recoveries: round}}
		if !slices.Equal(got, want) {
			t.Errorf("Recover #%d = %+v, want %+v", round, got, want)
		}
	}
}

// TestJournalBehindMemqueue runs the in-process queue on the SQLite
// journal across a restart: a message whose run was cut short by the stop
// is delivered by the next queue on the reopened file, and the journal is
// empty once it is handled.
func TestJournalBehindMemqueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bucketlink.db")
	s := open(t, path)
	started := make(chan struct{})
	q, err := memqueue.New(func(ctx context.Context, m queue.Message) error {
		if m.Key == "cut-short" {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}, memqueue.Options{Journal: s.QueueJournal()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(t.Context(), queue.Message{Kind: queue.KindVerify, Key: "cut-short", Group: "1"}); err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	q.Close()
	closeStore(t, s)

	s = open(t, path)
	defer closeStore(t, s)
	got := make(chan queue.Message, 1)
	q2, err := memqueue.New(func(_ context.Context, m queue.Message) error { got <- m; return nil },
		memqueue.Options{Journal: s.QueueJournal()})
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Key != "cut-short" || m.Group != "1" {
			t.Errorf("recovered %+v, want cut-short of group 1", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message cut short was not delivered after the restart")
	}
	q2.Close()
	left, err := s.QueueJournal().Recover(t.Context())
	if err != nil || len(left) != 0 {
		t.Errorf("journal after the handled delivery = %+v, %v; want empty", left, err)
	}
}
