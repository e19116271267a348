package memqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
)

func groupMsg(group, key string) queue.Message {
	return queue.Message{Kind: queue.KindVerify, Key: key, Group: group}
}

// TestRoundRobin checks that a free worker serves the groups in turn, not
// the oldest message overall: with one worker busy on a1, the backlog of
// group a is interleaved with the messages of b and c sent after it.
func TestRoundRobin(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string
	q := newQueue(t, func(_ context.Context, m queue.Message) error {
		if m.Key == "a1" {
			<-gate
		}
		mu.Lock()
		order = append(order, m.Key)
		mu.Unlock()
		return nil
	}, memqueue.Options{Workers: 1, ExtraWorkers: -1})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Send(t.Context(), groupMsg("a", "a1")); err != nil {
		t.Fatal(err)
	}
	var msgs []queue.Message
	for i := 2; i <= 5; i++ {
		msgs = append(msgs, groupMsg("a", fmt.Sprintf("a%d", i)))
	}
	msgs = append(msgs, groupMsg("b", "b1"), groupMsg("b", "b2"), groupMsg("c", "c1"))
	if err := q.Send(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
	close(gate)
	waitUntil(t, "every message handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 8 })
	// A group that starts waiting joins the turn after the groups already
	// waiting: a2 was next when b and c arrived.
	want := []string{"a1", "a2", "b1", "c1", "a3", "b2", "a4", "a5"}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("delivery order %v, want %v (round-robin over groups)", order, want)
	}
}

// TestQuietGroupGetsAWorker replays a noisy neighbour: group noisy keeps
// every shared worker busy with handlers that hang, and a message of group
// quiet still runs at once, on an extra worker; noisy never gets one.
func TestQuietGroupGetsAWorker(t *testing.T) {
	const workers = 2
	release := make(chan struct{})
	var noisyRunning, noisyPeak atomic.Int32
	quietDone := make(chan struct{})
	q := newQueue(t, func(ctx context.Context, m queue.Message) error {
		if m.Group == "quiet" {
			close(quietDone)
			return nil
		}
		n := noisyRunning.Add(1)
		defer noisyRunning.Add(-1)
		for old := noisyPeak.Load(); n > old && !noisyPeak.CompareAndSwap(old, n); old = noisyPeak.Load() {
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, memqueue.Options{Workers: workers})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	defer close(release)
	var noisy []queue.Message
	for i := range 10 {
		noisy = append(noisy, groupMsg("noisy", fmt.Sprintf("n%d", i)))
	}
	if err := q.Send(t.Context(), noisy...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the noisy group to fill the shared workers", func() bool { return noisyRunning.Load() == workers })
	if err := q.Send(t.Context(), groupMsg("quiet", "q1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-quietDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the quiet group's message did not run while the noisy group held the shared workers")
	}
	time.Sleep(50 * time.Millisecond)
	if p := noisyPeak.Load(); p != workers {
		t.Errorf("the noisy group ran %d handlers at once, want %d (the shared workers only)", p, workers)
	}
}

// TestBufferIsPerGroup checks that a full buffer holds up Send for its own
// group only.
func TestBufferIsPerGroup(t *testing.T) {
	q := newQueue(t, func(context.Context, queue.Message) error { return nil }, memqueue.Options{Buffer: 1})
	defer q.Close()
	if err := q.Send(t.Context(), groupMsg("a", "a1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := q.Send(ctx, groupMsg("a", "a2")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send to the full group a = %v, want DeadlineExceeded", err)
	}
	other, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	if err := q.Send(other, groupMsg("b", "b1")); err != nil {
		t.Errorf("Send to group b while a is full = %v, want nil", err)
	}
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
