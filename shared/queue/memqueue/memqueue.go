// Package memqueue is the in-process work queue: a bounded pool of workers
// consuming an in-memory buffer, with delayed retries and a dead-letter
// list. `bucketlink serve` uses it where AWS uses SQS and Lambda.
//
// It keeps the contract of package queue, with one difference that comes
// from living in memory: messages not yet handled when the process stops,
// or when consumption is cancelled, are lost. Work that must survive that
// is recorded in the store before it is sent (a verification record in
// "connecting" has its own deadline), so a lost message costs a retry by
// the client, not a wrong answer.
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
)

// Defaults for zero Options fields.
const (
	DefaultWorkers     = 4
	DefaultBuffer      = 256
	DefaultMaxAttempts = 5
)

// maxDeadLetters bounds the list DeadLetters returns; older entries are
// dropped (OnDeadLetter still sees every one).
const maxDeadLetters = 1000

// Options configure a Queue. The zero value is usable.
type Options struct {
	// Workers is the maximum number of concurrent handler calls (default
	// DefaultWorkers).
	Workers int
	// Buffer is how many sent messages may wait for a worker (default
	// DefaultBuffer). Send blocks while the buffer is full, until there is
	// room or its context is done. Messages waiting for a retry delay do not
	// count.
	Buffer int
	// MaxAttempts is how many times a message is delivered before it is
	// dead-lettered (default DefaultMaxAttempts; 1 means no retry).
	MaxAttempts int
	// RetryDelay returns how long to wait before delivering a message
	// again after its delivery number attempt (1-based) failed (default
	// DefaultRetryDelay). A negative delay counts as zero.
	RetryDelay func(attempt int) time.Duration
	// OnDeadLetter, if set, is called for every dead-lettered message, on
	// the worker that gave up on it. It must return promptly and must not
	// call Close.
	OnDeadLetter func(DeadLetter)
}

// DefaultRetryDelay doubles from 100ms per failed delivery, up to 10s.
func DefaultRetryDelay(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < attempt && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// DeadLetter is a message given up on after Options.MaxAttempts failed
// deliveries.
type DeadLetter struct {
	// Message is the message; its Attempt is the number of deliveries.
	Message queue.Message
	// Err is the error of the last delivery.
	Err error
	// At is when the message was dead-lettered.
	At time.Time
}

// Queue is an in-process work queue. It is a queue.Sender; Start runs its
// workers. Its methods are safe for concurrent use.
type Queue struct {
	h    queue.Handler
	opts Options
	in   chan queue.Message // Attempt holds the deliveries made so far

	mu          sync.Mutex
	started     bool
	closed      bool // Close was called: Send refuses
	halted      bool // consumption has stopped
	outstanding int  // accepted and not yet handled, dead-lettered or discarded
	idleClosed  bool
	timers      map[*retry]struct{}
	dead        []DeadLetter

	runCtx   context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // workers and retry timers that fired
	haltOnce sync.Once
	idle     chan struct{} // closed when closed and outstanding == 0
	stop     chan struct{} // closed when consumption stops
	stopped  chan struct{} // closed when every goroutine has returned
}

// retry is a message waiting for its retry delay.
type retry struct{ t *time.Timer }

var _ queue.Sender = (*Queue)(nil)

// New returns a queue that will deliver messages to h once started. It
// returns an error for a nil handler or a negative option.
func New(h queue.Handler, opts Options) (*Queue, error) {
	if h == nil {
		return nil, errors.New("memqueue: nil handler")
	}
	if opts.Workers < 0 || opts.Buffer < 0 || opts.MaxAttempts < 0 {
		return nil, fmt.Errorf("memqueue: negative option (workers %d, buffer %d, max attempts %d)",
			opts.Workers, opts.Buffer, opts.MaxAttempts)
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Buffer == 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.RetryDelay == nil {
		opts.RetryDelay = DefaultRetryDelay
	}
	return &Queue{
		h:       h,
		opts:    opts,
		in:      make(chan queue.Message, opts.Buffer),
		timers:  make(map[*retry]struct{}),
		idle:    make(chan struct{}),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}, nil
}

// Start starts the workers, which deliver messages until ctx is done or
// Close has drained the queue. Handlers get a context derived from ctx
// (with its values), cancelled when consumption stops.
//
// Cancelling ctx stops consumption at once: no delivery starts after it,
// running handlers see their context cancelled, and messages not yet
// handled are discarded. Send then returns an error wrapping
// queue.ErrClosed. Start may be called once; messages sent before it wait
// in the buffer.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed || q.halted:
		return fmt.Errorf("memqueue: start: %w", queue.ErrClosed)
	case q.started:
		return errors.New("memqueue: start: already started")
	}
	q.started = true
	q.runCtx, q.cancel = context.WithCancel(ctx)
	q.wg.Add(q.opts.Workers)
	for range q.opts.Workers {
		go q.work()
	}
	go func() {
		<-q.runCtx.Done()
		q.halt()
	}()
	return nil
}

// Close drains the queue gracefully: Send refuses new messages at once
// (queue.ErrClosed), and Close returns when every message already accepted
// has been handled or dead-lettered, retries included, and the workers
// have returned. To shut down quickly instead, cancel the context given to
// Start (before or during Close): Close then returns as soon as running
// handlers have returned, and the remaining messages are discarded. On a
// queue never started, Close discards the buffered messages. Close may be
// called more than once.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		if q.outstanding == 0 {
			q.closeIdleLocked()
		}
	}
	started := q.started
	q.mu.Unlock()
	if !started {
		q.halt()
		return
	}
	select {
	case <-q.idle:
	case <-q.stop:
	}
	q.cancel()
	<-q.stopped
}

// Stopped returns a channel closed once consumption has stopped (the
// context given to Start is done, or Close has drained the queue) and
// every handler call has returned.
func (q *Queue) Stopped() <-chan struct{} { return q.stopped }

// DeadLetters returns the messages dead-lettered so far, oldest first (at
// most the latest 1000).
func (q *Queue) DeadLetters() []DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead)
}

// Send enqueues msgs in order, blocking while the buffer is full. It
// returns a *queue.SendError for the messages it could not enqueue because
// ctx is done or the queue is closed or stopped (wrapping queue.ErrClosed).
func (q *Queue) Send(ctx context.Context, msgs ...queue.Message) error {
	if err := queue.ValidateAll(msgs); err != nil {
		return fmt.Errorf("memqueue: send: %w", err)
	}
	for i, m := range msgs {
		m.Attempt = 0
		if err := q.enqueue(ctx, m); err != nil {
			return &queue.SendError{Failed: slices.Clone(msgs[i:]), Total: len(msgs), Err: err}
		}
	}
	return nil
}

func (q *Queue) enqueue(ctx context.Context, m queue.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	if q.closed || q.halted {
		q.mu.Unlock()
		return queue.ErrClosed
	}
	q.outstanding++
	q.mu.Unlock()
	select {
	case q.in <- m:
		return nil
	case <-ctx.Done():
		q.finish()
		return ctx.Err()
	case <-q.stop:
		q.finish()
		return queue.ErrClosed
	}
}

func (q *Queue) work() {
	defer q.wg.Done()
	for {
		select {
		case <-q.runCtx.Done():
			return
		case m := <-q.in:
			if q.runCtx.Err() != nil {
				return
			}
			q.deliver(m)
		}
	}
}

// deliver makes one delivery of m and settles what happens next.
func (q *Queue) deliver(m queue.Message) {
	m.Attempt++
	err := queue.Invoke(q.runCtx, q.h, m)
	switch {
	case err == nil:
		q.finish()
	case q.runCtx.Err() != nil:
		q.finish() // stopping: discarded, not dead-lettered
	case m.Attempt >= q.opts.MaxAttempts:
		q.deadLetter(m, err)
		q.finish()
	default:
		q.retryLater(m)
	}
}

func (q *Queue) deadLetter(m queue.Message, err error) {
	dl := DeadLetter{Message: m, Err: err, At: time.Now()}
	q.mu.Lock()
	if len(q.dead) >= maxDeadLetters {
		q.dead = slices.Delete(q.dead, 0, len(q.dead)-maxDeadLetters+1)
	}
	q.dead = append(q.dead, dl)
	q.mu.Unlock()
	if q.opts.OnDeadLetter != nil {
		q.opts.OnDeadLetter(dl)
	}
}

// retryLater puts m back in the buffer after the retry delay.
func (q *Queue) retryLater(m queue.Message) {
	delay := max(q.opts.RetryDelay(m.Attempt), 0)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.halted {
		q.finishLocked()
		return
	}
	r := &retry{}
	q.timers[r] = struct{}{}
	r.t = time.AfterFunc(delay, func() { q.requeue(r, m) })
}

// requeue is the body of a retry timer that fired.
func (q *Queue) requeue(r *retry, m queue.Message) {
	q.mu.Lock()
	delete(q.timers, r)
	if q.halted {
		q.finishLocked()
		q.mu.Unlock()
		return
	}
	q.wg.Add(1) // under mu, so before halt sets halted and waits
	q.mu.Unlock()
	defer q.wg.Done()
	select {
	case q.in <- m:
	case <-q.stop:
		q.finish()
	}
}

// halt stops consumption: it stops pending retries, waits for every
// goroutine and closes stopped. It runs once.
func (q *Queue) halt() {
	q.haltOnce.Do(func() {
		q.mu.Lock()
		q.halted = true
		close(q.stop)
		timers := q.timers
		q.timers = nil
		q.mu.Unlock()
		for r := range timers {
			if r.t.Stop() {
				q.finish()
			}
		}
		q.wg.Wait()
		close(q.stopped)
	})
}

// finish records that an accepted message is done with.
func (q *Queue) finish() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.finishLocked()
}

func (q *Queue) finishLocked() {
	q.outstanding--
	if q.outstanding == 0 && q.closed {
		q.closeIdleLocked()
	}
}

func (q *Queue) closeIdleLocked() {
	if !q.idleClosed {
		q.idleClosed = true
		close(q.idle)
	}
}
