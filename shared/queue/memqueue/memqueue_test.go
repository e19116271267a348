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
	"github.com/bucketlink/bucketlink/shared/queue/queuetest"
)

type harness struct{}

func (harness) Open(ctx context.Context, t *testing.T, cfg queuetest.Config, h queue.Handler) queuetest.Pair {
	q, err := memqueue.New(h, memqueue.Options{
		// The suite's bound is on all calls: no extra workers for quiet
		// groups (fair_test.go tests those).
		Workers:      cfg.Concurrency,
		ExtraWorkers: -1,
		MaxAttempts:  cfg.MaxAttempts,
		RetryDelay:   func(int) time.Duration { return 10 * time.Millisecond },
	})
	if err != nil {
		t.Fatalf("memqueue.New: %v", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := q.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { cancel(); q.Close() })
	return queuetest.Pair{
		Sender: q,
		DeadLetters: func(context.Context) ([]queue.Message, error) {
			var msgs []queue.Message
			for _, d := range q.DeadLetters() {
				msgs = append(msgs, d.Message)
			}
			return msgs, nil
		},
		Stopped: q.Stopped(),
	}
}

func TestConformance(t *testing.T) { queuetest.Run(t, harness{}) }

func msg(key string) queue.Message { return queue.Message{Kind: queue.KindVerify, Key: key} }

func newQueue(t *testing.T, h queue.Handler, opts memqueue.Options) *memqueue.Queue {
	t.Helper()
	q, err := memqueue.New(h, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return q
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := func(context.Context, queue.Message) error { return nil }
	tests := []struct {
		name string
		h    queue.Handler
		opts memqueue.Options
	}{
		{"nil handler", nil, memqueue.Options{}},
		{"negative workers", ok, memqueue.Options{Workers: -1}},
		{"negative buffer", ok, memqueue.Options{Buffer: -1}},
		{"negative max attempts", ok, memqueue.Options{MaxAttempts: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := memqueue.New(tc.h, tc.opts); err == nil {
				t.Errorf("New(%s) succeeded, want an error", tc.name)
			}
		})
	}
}

func TestDefaultRetryDelay(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"first", 1, 100 * time.Millisecond},
		{"second", 2, 200 * time.Millisecond},
		{"fifth", 5, 1600 * time.Millisecond},
		{"capped", 20, 10 * time.Second},
		{"huge", 1 << 30, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := memqueue.DefaultRetryDelay(tc.attempt); got != tc.want {
				t.Errorf("DefaultRetryDelay(%d) = %s, want %s", tc.attempt, got, tc.want)
			}
		})
	}
}

// TestCloseDrains checks that Close returns only after every accepted
// message, including one waiting for a retry, was handled or dead-lettered,
// and that Send refuses afterwards.
func TestCloseDrains(t *testing.T) {
	var mu sync.Mutex
	handled := map[string]int{}
	var deadSeen atomic.Int32
	q := newQueue(t, func(_ context.Context, m queue.Message) error {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		handled[m.Key]++
		if m.Key == "retry-once" && m.Attempt == 1 {
			return errors.New("transient")
		}
		if m.Key == "poison" {
			return errors.New("permanent")
		}
		return nil
	}, memqueue.Options{
		Workers: 2, MaxAttempts: 2,
		RetryDelay:   func(int) time.Duration { return 50 * time.Millisecond },
		OnDeadLetter: func(memqueue.DeadLetter) { deadSeen.Add(1) },
	})
	var msgs []queue.Message
	for i := range 20 {
		msgs = append(msgs, msg(fmt.Sprintf("m%d", i)))
	}
	msgs = append(msgs, msg("retry-once"), msg("poison"))
	if err := q.Send(t.Context(), msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := q.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	q.Close()

	mu.Lock()
	for _, m := range msgs[:20] {
		if handled[m.Key] != 1 {
			t.Errorf("%s handled %d times before Close returned, want 1", m.Key, handled[m.Key])
		}
	}
	if handled["retry-once"] != 2 || handled["poison"] != 2 {
		t.Errorf("retry-once handled %d times, poison %d times, want 2 and 2", handled["retry-once"], handled["poison"])
	}
	mu.Unlock()
	if dead := q.DeadLetters(); len(dead) != 1 || dead[0].Message.Key != "poison" || dead[0].Message.Attempt != 2 || dead[0].Err == nil {
		t.Errorf("DeadLetters = %+v, want poison after 2 attempts with its error", dead)
	}
	if n := deadSeen.Load(); n != 1 {
		t.Errorf("OnDeadLetter called %d times, want 1", n)
	}
	select {
	case <-q.Stopped():
	default:
		t.Error("Stopped not closed after Close returned")
	}
	err := q.Send(t.Context(), msg("late"))
	var se *queue.SendError
	if !errors.Is(err, queue.ErrClosed) || !errors.As(err, &se) || len(se.Failed) != 1 || se.Total != 1 {
		t.Errorf("Send after Close = %v, want a *SendError for 1 message wrapping ErrClosed", err)
	}
	if err := q.Start(t.Context()); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	q.Close() // a second Close is a no-op
}

// TestCancelThenCloseDiscards checks the fast shutdown: cancelling Start's
// context makes Close return once running handlers return, discarding the
// rest, and a message waiting for its retry is not delivered.
func TestCancelThenCloseDiscards(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	q := newQueue(t, func(ctx context.Context, m queue.Message) error {
		calls.Add(1)
		if m.Key == "fails" {
			return errors.New("fails")
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	}, memqueue.Options{Workers: 1, RetryDelay: func(int) time.Duration { return time.Hour }})
	ctx, cancel := context.WithCancel(t.Context())
	if err := q.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := q.Send(t.Context(), msg("fails"), msg("blocks"), msg("never")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	done := make(chan struct{})
	go func() { q.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Close did not return after Start's context was cancelled")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d handler calls, want 2 (the third message must be discarded)", n)
	}
	if dead := q.DeadLetters(); len(dead) != 0 {
		t.Errorf("DeadLetters = %+v, want none: discarded is not dead-lettered", dead)
	}
}

// TestSendBlocksWhenFull checks the back-pressure of a full buffer: Send
// waits, gives up with its context, and reports what it did not send.
func TestSendBlocksWhenFull(t *testing.T) {
	q := newQueue(t, func(context.Context, queue.Message) error { return nil }, memqueue.Options{Buffer: 2})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := q.Send(ctx, msg("a"), msg("b"), msg("c"), msg("d"))
	var se *queue.SendError
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a full, unstarted queue = %v, want a *SendError wrapping DeadlineExceeded", err)
	}
	if se.Total != 4 || len(se.Failed) != 2 || se.Failed[0].Key != "c" || se.Failed[1].Key != "d" {
		t.Errorf("SendError = %+v, want c and d failed of 4", se)
	}

	// A blocked Send is released by Close of a queue never started.
	blocked := make(chan error, 1)
	go func() { blocked <- q.Send(t.Context(), msg("e")) }()
	time.Sleep(20 * time.Millisecond)
	q.Close()
	select {
	case err := <-blocked:
		if !errors.Is(err, queue.ErrClosed) {
			t.Errorf("blocked Send released by Close = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not release a blocked Send")
	}
}

func TestStartTwice(t *testing.T) {
	q := newQueue(t, func(context.Context, queue.Message) error { return nil }, memqueue.Options{})
	if err := q.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer q.Close()
	if err := q.Start(t.Context()); err == nil {
		t.Error("second Start succeeded, want an error")
	}
}

// TestHandlerContextValues checks that handlers see the values of Start's
// context (a request-scoped logger, say).
func TestHandlerContextValues(t *testing.T) {
	type key struct{}
	got := make(chan any, 1)
	q := newQueue(t, func(ctx context.Context, _ queue.Message) error {
		got <- ctx.Value(key{})
		return nil
	}, memqueue.Options{})
	if err := q.Start(context.WithValue(t.Context(), key{}, "v")); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer q.Close()
	if err := q.Send(t.Context(), msg("x")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if v := <-got; v != "v" {
		t.Errorf("handler context value = %v, want v", v)
	}
}
