// Package queuetest is the conformance suite for work queues: every
// implementation's test is one call to Run with a Harness that builds a
// fresh queue and its consumer on a real backend.
//
// The suite checks the contract written in package queue: every sent
// message is handled at least once (batches of more than ten included);
// failing messages are delivered again and, after the maximum number of
// deliveries, dead-lettered and not delivered again; a panicking handler
// counts as a failure; the number of concurrent handler calls never
// exceeds the bound; an invalid message makes Send send nothing; and
// cancelling the consumer's context stops consumption.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
)

// Config is what the suite asks of a consumer.
type Config struct {
	// Concurrency is the maximum number of concurrent handler calls.
	Concurrency int
	// MaxAttempts is the number of deliveries after which a message whose
	// handler keeps failing is dead-lettered.
	MaxAttempts int
}

// Pair is a sender and the consumer of the same fresh queue.
type Pair struct {
	// Sender enqueues on the queue.
	Sender queue.Sender
	// DeadLetters returns every message dead-lettered so far (Attempt need
	// not be set).
	DeadLetters func(ctx context.Context) ([]queue.Message, error)
	// Stopped is closed once consumption has stopped after the context
	// given to Open is done, and no handler call is running or will start.
	Stopped <-chan struct{}
}

// Harness builds queues for the suite.
type Harness interface {
	// Open creates a fresh, empty queue and starts consuming it: each
	// delivered message is passed to h with its Attempt set, at most
	// cfg.Concurrency calls at once, and a message is dead-lettered after
	// cfg.MaxAttempts failed deliveries. Failed messages should be
	// redelivered quickly (well under a second). Consumption runs until ctx
	// is done. Open fails the test on error and releases everything with
	// t.Cleanup.
	Open(ctx context.Context, t *testing.T, cfg Config, h queue.Handler) Pair
}

// waitTimeout bounds every wait of the suite.
const waitTimeout = 30 * time.Second

// quiet is how long the suite watches for a delivery that must not come.
const quiet = 400 * time.Millisecond

// Run runs the conformance suite against h. Subtests run in parallel.
func Run(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"DeliversEveryMessage", testDeliversEveryMessage},
		{"InvalidMessageSendsNothing", testInvalidMessageSendsNothing},
		{"RetriesThenSucceeds", testRetriesThenSucceeds},
		{"DeadLettersAfterMaxAttempts", testDeadLetters},
		{"BoundedConcurrency", testBoundedConcurrency},
		{"CancelStopsConsumption", testCancelStopsConsumption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

// recorder is a handler's log of deliveries, keyed by message key.
type recorder struct {
	mu         sync.Mutex
	deliveries map[string][]queue.Message
}

func newRecorder() *recorder { return &recorder{deliveries: make(map[string][]queue.Message)} }

func (r *recorder) add(m queue.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries[m.Key] = append(r.deliveries[m.Key], m)
}

func (r *recorder) get(key string) []queue.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deliveries[key])
}

func (r *recorder) count(key string) int { return len(r.get(key)) }

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.deliveries)
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitChan waits for ch to be closed or to yield, failing after waitTimeout.
func waitChan[T any](t *testing.T, what string, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
	}
}

func testDeliversEveryMessage(t *testing.T, h Harness) {
	rec := newRecorder()
	p := h.Open(t.Context(), t, Config{Concurrency: 4, MaxAttempts: 3}, func(_ context.Context, m queue.Message) error {
		rec.add(m)
		return nil
	})
	if err := p.Sender.Send(t.Context()); err != nil {
		t.Fatalf("Send() with no messages = %v, want nil", err)
	}
	const n = 25 // three SQS batches
	var msgs []queue.Message
	for i := range n {
		kind := queue.KindVerify
		if i%2 == 1 {
			kind = queue.KindReverify
		}
		msgs = append(msgs, queue.Message{Kind: kind, Key: fmt.Sprintf("rec-%02d/é ü {\"q\"}", i), Attempt: 99})
	}
	if err := p.Sender.Send(t.Context(), msgs...); err != nil {
		t.Fatalf("Send(%d messages): %v", n, err)
	}
	waitFor(t, fmt.Sprintf("%d distinct messages", n), func() bool { return rec.distinct() == n })
	for _, want := range msgs {
		got := rec.get(want.Key)
		if len(got) == 0 {
			t.Errorf("message %s never delivered", want)
			continue
		}
		if got[0].Kind != want.Kind || got[0].Key != want.Key {
			t.Errorf("delivered %s, want %s", got[0], want)
		}
		if got[0].Attempt != 1 {
			t.Errorf("first delivery of %s has Attempt %d, want 1 (the sent Attempt must be ignored)", want, got[0].Attempt)
		}
	}
	if rec.distinct() != n {
		t.Errorf("%d distinct keys delivered, want %d", rec.distinct(), n)
	}
}

func testInvalidMessageSendsNothing(t *testing.T, h Harness) {
	rec := newRecorder()
	p := h.Open(t.Context(), t, Config{Concurrency: 2, MaxAttempts: 3}, func(_ context.Context, m queue.Message) error {
		rec.add(m)
		return nil
	})
	tests := []struct {
		name string
		bad  queue.Message
	}{
		{"empty key", queue.Message{Kind: queue.KindVerify}},
		{"empty kind", queue.Message{Key: "k"}},
		{"upper-case kind", queue.Message{Kind: "Verify", Key: "k"}},
		{"control character in key", queue.Message{Kind: queue.KindVerify, Key: "a\nb"}},
		{"key too long", queue.Message{Kind: queue.KindVerify, Key: string(make([]byte, queue.MaxKeyLen+1))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := queue.Message{Kind: queue.KindVerify, Key: "good-" + tc.name}
			err := p.Sender.Send(t.Context(), good, tc.bad)
			if !errors.Is(err, queue.ErrInvalidMessage) {
				t.Fatalf("Send(good, %s) = %v, want an error wrapping ErrInvalidMessage", tc.name, err)
			}
		})
	}
	marker := queue.Message{Kind: queue.KindVerify, Key: "marker"}
	if err := p.Sender.Send(t.Context(), marker); err != nil {
		t.Fatalf("Send(marker): %v", err)
	}
	waitFor(t, "the marker message", func() bool { return rec.count(marker.Key) > 0 })
	time.Sleep(quiet)
	if n := rec.distinct(); n != 1 {
		t.Errorf("%d distinct keys delivered, want only the marker: a Send with an invalid message sent the valid ones", n)
	}
}

func testRetriesThenSucceeds(t *testing.T, h Harness) {
	const failures = 2
	rec := newRecorder()
	p := h.Open(t.Context(), t, Config{Concurrency: 2, MaxAttempts: failures + 2}, func(_ context.Context, m queue.Message) error {
		rec.add(m)
		if rec.count(m.Key) <= failures {
			return fmt.Errorf("transient failure of delivery %d", m.Attempt)
		}
		return nil
	})
	m := queue.Message{Kind: queue.KindVerify, Key: "flaky"}
	if err := p.Sender.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	waitFor(t, "the third delivery", func() bool { return rec.count(m.Key) >= failures+1 })
	time.Sleep(quiet)
	got := rec.get(m.Key)
	if len(got) != failures+1 {
		t.Errorf("%d deliveries, want %d (redelivered after it succeeded?)", len(got), failures+1)
	}
	for i, d := range got {
		if d.Attempt != i+1 {
			t.Errorf("delivery %d has Attempt %d, want %d", i+1, d.Attempt, i+1)
		}
	}
	dead, err := p.DeadLetters(t.Context())
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 0 {
		t.Errorf("DeadLetters = %v, want none", dead)
	}
}

func testDeadLetters(t *testing.T, h Harness) {
	const maxAttempts = 3
	rec := newRecorder()
	p := h.Open(t.Context(), t, Config{Concurrency: 2, MaxAttempts: maxAttempts}, func(_ context.Context, m queue.Message) error {
		rec.add(m)
		switch m.Key {
		case "poison":
			return errors.New("permanent failure")
		case "poison-panic":
			panic("handler bug")
		}
		return nil
	})
	msgs := []queue.Message{
		{Kind: queue.KindVerify, Key: "poison"},
		{Kind: queue.KindVerify, Key: "healthy"},
		{Kind: queue.KindReverify, Key: "poison-panic"},
	}
	if err := p.Sender.Send(t.Context(), msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var dead []queue.Message
	waitFor(t, "two dead-lettered messages", func() bool {
		got, err := p.DeadLetters(t.Context())
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		dead = got
		return len(dead) >= 2
	})
	time.Sleep(quiet)
	if more, err := p.DeadLetters(t.Context()); err != nil {
		t.Fatalf("DeadLetters: %v", err)
	} else {
		dead = more
	}
	keys := make([]string, 0, len(dead))
	for _, d := range dead {
		keys = append(keys, d.Key)
	}
	slices.Sort(keys)
	if want := []string{"poison", "poison-panic"}; !slices.Equal(keys, want) {
		t.Errorf("dead-lettered keys = %q, want %q", keys, want)
	}
	for _, d := range dead {
		if d.Kind != kindOf(msgs, d.Key) {
			t.Errorf("dead letter %s has the wrong kind", d)
		}
	}
	for _, key := range []string{"poison", "poison-panic"} {
		if n := rec.count(key); n != maxAttempts {
			t.Errorf("%s delivered %d times, want exactly MaxAttempts = %d", key, n, maxAttempts)
		}
	}
	if n := rec.count("healthy"); n != 1 {
		t.Errorf("healthy message delivered %d times, want 1", n)
	}
}

func kindOf(msgs []queue.Message, key string) queue.Kind {
	for _, m := range msgs {
		if m.Key == key {
			return m.Kind
		}
	}
	return ""
}

func testBoundedConcurrency(t *testing.T, h Harness) {
	const limit, n = 3, 12
	var active, peak atomic.Int32
	rec := newRecorder()
	p := h.Open(t.Context(), t, Config{Concurrency: limit, MaxAttempts: 2}, func(_ context.Context, m queue.Message) error {
		cur := active.Add(1)
		defer active.Add(-1)
		for {
			old := peak.Load()
			if cur <= old || peak.CompareAndSwap(old, cur) {
				break
			}
		}
		time.Sleep(60 * time.Millisecond)
		rec.add(m)
		return nil
	})
	var msgs []queue.Message
	for i := range n {
		msgs = append(msgs, queue.Message{Kind: queue.KindVerify, Key: fmt.Sprintf("c%02d", i)})
	}
	if err := p.Sender.Send(t.Context(), msgs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	waitFor(t, fmt.Sprintf("%d messages", n), func() bool { return rec.distinct() == n })
	got := peak.Load()
	if got > limit {
		t.Errorf("peak concurrent handler calls = %d, want at most %d", got, limit)
	}
	if got < 2 {
		t.Errorf("peak concurrent handler calls = %d, want at least 2: messages were handled one at a time", got)
	}
	t.Logf("peak concurrency %d (limit %d)", got, limit)
}

func testCancelStopsConsumption(t *testing.T, h Harness) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	var startOnce sync.Once
	returned := make(chan error, 1)
	var stopped atomic.Bool
	var afterStop atomic.Int32
	rec := newRecorder()
	p := h.Open(ctx, t, Config{Concurrency: 2, MaxAttempts: 5}, func(hctx context.Context, m queue.Message) error {
		if stopped.Load() {
			afterStop.Add(1)
		}
		rec.add(m)
		if m.Key != "block" || m.Attempt != 1 {
			return nil
		}
		startOnce.Do(func() { close(started) })
		<-hctx.Done()
		select {
		case returned <- hctx.Err():
		default:
		}
		return hctx.Err()
	})
	if err := p.Sender.Send(t.Context(), queue.Message{Kind: queue.KindVerify, Key: "block"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	waitChan(t, "the blocking handler to start", started)
	cancel()
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler context ended with %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("cancelling the consumer's context did not cancel the running handler's context")
	}
	waitChan(t, "the consumer to stop", p.Stopped)
	stopped.Store(true)
	// A sender may refuse (memqueue) or accept (SQS); either way nothing
	// may be handled any more.
	_ = p.Sender.Send(t.Context(), queue.Message{Kind: queue.KindVerify, Key: "after"})
	time.Sleep(quiet)
	if n := rec.count("after"); n != 0 {
		t.Errorf("message sent after cancellation was delivered %d times", n)
	}
	if n := afterStop.Load(); n != 0 {
		t.Errorf("%d handler calls started after Stopped was closed", n)
	}
}
