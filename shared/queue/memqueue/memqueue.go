// Package memqueue is the in-process work queue: a bounded pool of workers
// serving per-group buffers in turn, with delayed retries, a dead-letter
// list and, optionally, a Journal that makes it durable. `bucketlink
// serve` uses it where AWS uses SQS and Lambda.
//
// # Fairness
//
// Messages are buffered per queue.Message.Group (bucketlink: the org).
// A free worker takes the oldest message of the next group in turn
// (round-robin over the groups that have messages waiting), not the oldest
// message overall, so one group's backlog delays another group by at most
// one message per group ahead of it. And a group with nothing running gets
// a worker at once, even when the Workers shared ones are all busy (up to
// ExtraWorkers more): a tenant whose verifications hang against a black
// hole occupies the shared workers, never the next tenant's first one.
//
// # Durability
//
// Without a Journal, messages not yet handled when the process stops, or
// when consumption is cancelled, are lost (a verification record in
// "connecting" then reads as timed out at its deadline). With one
// (sqlitestore's, in `bucketlink serve`), Send returns once its messages
// are in the journal, a message leaves it once handled or dead-lettered,
// and Start delivers again whatever a previous process left: a kill -9
// loses nothing that Send accepted.
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/queue"
)

// Defaults for zero Options fields.
const (
	DefaultWorkers       = 4
	DefaultBuffer        = 256
	DefaultMaxAttempts   = 5
	DefaultMaxRecoveries = 3
)

// maxDeadLetters bounds the list DeadLetters returns; older entries are
// dropped (OnDeadLetter still sees every one).
const maxDeadLetters = 1000

// journalTimeout bounds a journal write made after a delivery, which runs
// even while the queue stops.
const journalTimeout = 5 * time.Second

// Options configure a Queue. The zero value is usable.
type Options struct {
	// Workers is how many handler calls run at once, shared by all groups
	// (default DefaultWorkers).
	Workers int
	// ExtraWorkers is how many more calls may run beyond Workers, each for
	// a group that has none running, so that a quiet group never waits
	// behind a busy one (default: Workers; negative: none). At most
	// Workers+ExtraWorkers calls run at once.
	ExtraWorkers int
	// Buffer is how many sent messages of one group may wait for a worker
	// (default DefaultBuffer). Send blocks while its message's group is
	// full, until there is room or its context is done; other groups are
	// not held up. Messages waiting for a retry delay, and messages
	// recovered from the journal, do not count.
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

	// Journal, if set, keeps every accepted message until it is handled or
	// dead-lettered, and Start delivers again what it holds (see the
	// package doc).
	Journal queue.Journal
	// MaxRecoveries is how many starts may recover one message from the
	// journal (default DefaultMaxRecoveries): a message still there after
	// that many is dead-lettered instead, since its handling may be what
	// keeps killing the process.
	MaxRecoveries int
	// OnJournalError, if set, is called when removing a finished message
	// from the journal fails (it will then be delivered once more at the
	// next start, which handlers tolerate).
	OnJournalError func(error)
}

// DefaultRetryDelay doubles from 100ms per failed delivery, up to 10s.
func DefaultRetryDelay(attempt int) time.Duration {
	return defaultRetry.Ceiling(attempt)
}

// defaultRetry is DefaultRetryDelay's schedule, without jitter: a
// redelivery time is part of the queue's documented behaviour.
var defaultRetry = backoff.Exponential{Base: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: backoff.None}

// DeadLetter is a message given up on after Options.MaxAttempts failed
// deliveries (or Options.MaxRecoveries recoveries).
type DeadLetter struct {
	// Message is the message; its Attempt is the number of deliveries.
	Message queue.Message
	// Err is the error of the last delivery.
	Err error
	// At is when the message was dead-lettered.
	At time.Time
}

// ErrTooManyRecoveries is the Err of a message dead-lettered because it
// was recovered from the journal more than Options.MaxRecoveries times.
var ErrTooManyRecoveries = errors.New("memqueue: message recovered from the journal too many times")

// entry is a message in the queue: Attempt holds the deliveries made so
// far, id its journal entry (0 without a journal).
type entry struct {
	m  queue.Message
	id int64
}

// group is the buffer of one queue.Message.Group.
type group struct {
	pending []entry // oldest first
	running int
}

// Queue is an in-process work queue. It is a queue.Sender; Start runs its
// workers. Its methods are safe for concurrent use.
type Queue struct {
	h    queue.Handler
	opts Options

	mu          sync.Mutex
	groups      map[string]*group // groups with messages waiting or running
	ring        []string          // groups with messages waiting, in turn
	next        int               // the ring position served next
	running     int
	space       chan struct{} // closed (and replaced) when a message leaves a buffer
	started     bool
	closed      bool // Close was called: Send refuses
	halted      bool // consumption has stopped
	outstanding int  // accepted and not yet handled, dead-lettered or discarded
	idleClosed  bool
	timers      map[*retry]struct{}
	dead        []DeadLetter

	runCtx   context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // deliveries and retry timers that fired
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
	if opts.Workers < 0 || opts.Buffer < 0 || opts.MaxAttempts < 0 || opts.MaxRecoveries < 0 {
		return nil, fmt.Errorf("memqueue: negative option (workers %d, buffer %d, max attempts %d, max recoveries %d)",
			opts.Workers, opts.Buffer, opts.MaxAttempts, opts.MaxRecoveries)
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	switch {
	case opts.ExtraWorkers == 0:
		opts.ExtraWorkers = opts.Workers
	case opts.ExtraWorkers < 0:
		opts.ExtraWorkers = 0
	}
	if opts.Buffer == 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxRecoveries == 0 {
		opts.MaxRecoveries = DefaultMaxRecoveries
	}
	if opts.RetryDelay == nil {
		opts.RetryDelay = DefaultRetryDelay
	}
	return &Queue{
		h:       h,
		opts:    opts,
		groups:  make(map[string]*group),
		space:   make(chan struct{}),
		timers:  make(map[*retry]struct{}),
		idle:    make(chan struct{}),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}, nil
}

// Start recovers the messages the journal holds (if there is one), then
// starts delivering until ctx is done or Close has drained the queue.
// Handlers get a context derived from ctx (with its values), cancelled
// when consumption stops.
//
// Cancelling ctx stops consumption at once: no delivery starts after it,
// running handlers see their context cancelled, and messages not yet
// handled are discarded (they stay in the journal). Send then returns an
// error wrapping queue.ErrClosed. Start may be called once; messages sent
// before it wait in their buffers. An error reading the journal fails
// Start, and the queue is not started.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	err := q.startableLocked()
	q.mu.Unlock()
	if err != nil {
		return err
	}
	var recovered []queue.JournalEntry
	if q.opts.Journal != nil {
		if recovered, err = q.opts.Journal.Recover(ctx); err != nil {
			return fmt.Errorf("memqueue: start: recover the journal: %w", err)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.startableLocked(); err != nil {
		return err
	}
	q.started = true
	q.runCtx, q.cancel = context.WithCancel(ctx)
	go func() {
		<-q.runCtx.Done()
		q.halt()
	}()
	var given []entry
	for _, je := range recovered {
		e := entry{m: je.Message, id: je.ID}
		e.m.Attempt = 0
		if je.Recoveries > q.opts.MaxRecoveries {
			given = append(given, e)
			continue
		}
		q.pushLocked(e)
		q.outstanding++
	}
	if len(given) > 0 {
		q.wg.Go(func() { q.giveUpRecovered(given) })
	}
	q.dispatchLocked()
	return nil
}

func (q *Queue) startableLocked() error {
	switch {
	case q.closed || q.halted:
		return fmt.Errorf("memqueue: start: %w", queue.ErrClosed)
	case q.started:
		return errors.New("memqueue: start: already started")
	}
	return nil
}

// giveUpRecovered dead-letters recovered messages that came back too often.
func (q *Queue) giveUpRecovered(given []entry) {
	for _, e := range given {
		q.deadLetter(e.m, ErrTooManyRecoveries)
		q.unjournal(e.id)
	}
}

// Close drains the queue gracefully: Send refuses new messages at once
// (queue.ErrClosed), and Close returns when every message already accepted
// has been handled or dead-lettered, retries included, and the workers
// have returned. To shut down quickly instead, cancel the context given to
// Start (before or during Close): Close then returns as soon as running
// handlers have returned, and the remaining messages are discarded (a
// journal keeps them). On a queue never started, Close discards the
// buffered messages. Close may be called more than once.
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

// Send enqueues msgs in order, after appending them to the journal if
// there is one, blocking while a message's group buffer is full. It
// returns a *queue.SendError for the messages it could not enqueue because
// the journal failed, ctx is done or the queue is closed or stopped
// (wrapping queue.ErrClosed); those are not in the journal either.
func (q *Queue) Send(ctx context.Context, msgs ...queue.Message) error {
	if err := queue.ValidateAll(msgs); err != nil {
		return fmt.Errorf("memqueue: send: %w", err)
	}
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]int64, len(msgs))
	if q.opts.Journal != nil {
		if err := q.refusing(ctx); err != nil {
			return &queue.SendError{Failed: slices.Clone(msgs), Total: len(msgs), Err: err}
		}
		clean := make([]queue.Message, len(msgs))
		for i, m := range msgs {
			m.Attempt = 0
			clean[i] = m
		}
		got, err := q.opts.Journal.Append(ctx, clean)
		if err == nil && len(got) != len(msgs) {
			err = fmt.Errorf("journal returned %d ids for %d messages", len(got), len(msgs))
		}
		if err != nil {
			return &queue.SendError{Failed: slices.Clone(msgs), Total: len(msgs), Err: fmt.Errorf("memqueue: journal: %w", err)}
		}
		ids = got
	}
	now := time.Now()
	for i, m := range msgs {
		m.Attempt, m.SentAt = 0, now
		if err := q.enqueue(ctx, entry{m: m, id: ids[i]}); err != nil {
			q.unjournal(ids[i:]...)
			return &queue.SendError{Failed: slices.Clone(msgs[i:]), Total: len(msgs), Err: err}
		}
	}
	return nil
}

// refusing returns why a Send would be refused now, or nil.
func (q *Queue) refusing(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.halted {
		return queue.ErrClosed
	}
	return nil
}

// enqueue adds e to its group's buffer, waiting while that is full.
func (q *Queue) enqueue(ctx context.Context, e entry) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		q.mu.Lock()
		if q.closed || q.halted {
			q.mu.Unlock()
			return queue.ErrClosed
		}
		if g := q.groups[e.m.Group]; g == nil || len(g.pending) < q.opts.Buffer {
			q.pushLocked(e)
			q.outstanding++
			q.dispatchLocked()
			q.mu.Unlock()
			return nil
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		case <-q.stop:
			return queue.ErrClosed
		}
	}
}

// pushLocked appends e to its group's buffer, putting the group in the
// ring when it had nothing waiting.
func (q *Queue) pushLocked(e entry) {
	g := q.groups[e.m.Group]
	if g == nil {
		g = &group{}
		q.groups[e.m.Group] = g
	}
	if len(g.pending) == 0 {
		// Just before the position served next: a group that starts
		// waiting is served after those already waiting.
		q.ring = slices.Insert(q.ring, q.next, e.m.Group)
		q.next = (q.next + 1) % len(q.ring)
	}
	g.pending = append(g.pending, e)
}

// dispatchLocked starts deliveries while there are workers for them.
func (q *Queue) dispatchLocked() {
	if !q.started || q.halted || q.runCtx.Err() != nil {
		return
	}
	for {
		name, e, ok := q.pickLocked()
		if !ok {
			return
		}
		q.groups[name].running++
		q.running++
		q.wg.Add(1)
		go q.deliver(name, e)
	}
}

// pickLocked takes the next message to deliver: the oldest of the next
// group in the ring while a shared worker is free, or else the oldest of
// the next group with nothing running while an extra worker is free.
func (q *Queue) pickLocked() (string, entry, bool) {
	shared := q.running < q.opts.Workers
	extra := q.running < q.opts.Workers+q.opts.ExtraWorkers
	if !extra {
		return "", entry{}, false
	}
	for i := range len(q.ring) {
		pos := (q.next + i) % len(q.ring)
		name := q.ring[pos]
		g := q.groups[name]
		if !shared && g.running > 0 {
			continue
		}
		e := g.pending[0]
		g.pending[0] = entry{}
		g.pending = g.pending[1:]
		if len(g.pending) == 0 {
			g.pending = nil
			q.ring = slices.Delete(q.ring, pos, pos+1)
			q.next = pos
		} else {
			q.next = pos + 1
		}
		if len(q.ring) > 0 {
			q.next %= len(q.ring)
		} else {
			q.next = 0
		}
		close(q.space)
		q.space = make(chan struct{})
		return name, e, true
	}
	return "", entry{}, false
}

// deliver makes one delivery of e and settles what happens next.
func (q *Queue) deliver(name string, e entry) {
	defer q.wg.Done()
	e.m.Attempt++
	err := queue.Invoke(q.runCtx, q.h, e.m)
	stopping := q.runCtx.Err() != nil
	switch {
	case err == nil:
		q.unjournal(e.id)
	case stopping:
		// Discarded, not dead-lettered; the journal keeps it.
	case e.m.Attempt >= q.opts.MaxAttempts:
		q.deadLetter(e.m, err)
		q.unjournal(e.id)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	g := q.groups[name]
	g.running--
	q.running--
	if err != nil && !stopping && e.m.Attempt < q.opts.MaxAttempts {
		q.retryLaterLocked(e)
	} else {
		q.finishLocked()
	}
	if g.running == 0 && len(g.pending) == 0 {
		delete(q.groups, name)
	}
	q.dispatchLocked()
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

// unjournal removes finished (or refused) messages from the journal.
func (q *Queue) unjournal(ids ...int64) {
	if q.opts.Journal == nil {
		return
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	if err := q.opts.Journal.Remove(ctx, ids...); err != nil && q.opts.OnJournalError != nil {
		q.opts.OnJournalError(fmt.Errorf("memqueue: remove %d finished messages from the journal: %w", len(ids), err))
	}
}

// retryLaterLocked puts e back in its buffer after the retry delay.
func (q *Queue) retryLaterLocked(e entry) {
	if q.halted {
		q.finishLocked()
		return
	}
	delay := max(q.opts.RetryDelay(e.m.Attempt), 0)
	r := &retry{}
	q.timers[r] = struct{}{}
	r.t = time.AfterFunc(delay, func() { q.requeue(r, e) })
}

// requeue is the body of a retry timer that fired.
func (q *Queue) requeue(r *retry, e entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.timers, r)
	if q.halted {
		q.finishLocked()
		return
	}
	q.pushLocked(e)
	q.dispatchLocked()
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
		for r := range timers {
			if r.t.Stop() {
				q.finishLocked()
			}
		}
		q.mu.Unlock()
		q.wg.Wait()
		close(q.stopped)
	})
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
