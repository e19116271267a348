// Package queue is the work queue that decouples the API from the bucket
// checks: the API sends a small message naming a record, and a worker,
// later and elsewhere, receives it and does the work.
//
// There are two implementations with one contract, proved by the
// conformance suite in queuetest:
//
//   - memqueue: an in-process pool of workers, used by `bucketlink serve`.
//   - sqsqueue: Amazon SQS with a dead-letter queue. Its Sender enqueues;
//     Lambda receives and hands batches of records to sqsqueue.BatchHandler.
//
// # Messages carry references, never secrets
//
// A Message holds only a Kind (what to do, e.g. "verify"), a Key (which
// record to do it to, e.g. a verification record key or a storage config
// uid) and a Group (whose work it is: the org, for fairness). Credentials,
// bucket names and anything else a worker needs are read from the store by
// the key. Queues are logged, inspected in consoles and copied to
// dead-letter queues; nothing in a message may be secret.
//
// # Fairness between groups
//
// Messages of one Group (bucketlink uses the org id) are one tenant's
// work. A consumer serves groups fairly rather than in arrival order, so
// that a tenant with a backlog (or with slow work) does not delay the
// others: memqueue takes the next message from each group in turn and
// starts a group with nothing running at once; on SQS the Group is the
// MessageGroupId, which makes a standard queue a fair queue. Messages
// without a Group share one group in memqueue; SQS counts each as a
// tenant of its own.
//
// # Delivery is at least once
//
// A sent message is delivered to a Handler at least once, and may be
// delivered more than once: SQS delivers duplicates, a worker that dies
// mid-run has its message redelivered, and a Send that fails may have
// enqueued some of its messages. Handlers must therefore be idempotent: a
// second delivery of a message whose work is done (or under way elsewhere)
// must be a harmless no-op, which the verification worker gets from
// conditional writes on the record's state and version. Order is not
// preserved.
//
// # Failure, retry and dead-lettering
//
// A Handler reports failure by returning an error (a panic counts as a
// failure too). The message is then delivered again after a delay, up to a
// maximum number of deliveries; after the last failed delivery it is
// dead-lettered (memqueue: a list and a callback; SQS: the dead-letter queue
// named by the redrive policy) and not delivered again. A Handler should
// return nil, not an error, for a message it has dealt with for good, even
// when the outcome is "this bucket is unreachable": that outcome belongs in
// the record, and an error only makes the queue try again.
//
// When the consumer's context is cancelled, consumption stops: no new
// delivery starts, and the contexts of running handlers are cancelled. A
// handler stopped this way should return ctx.Err(); its message is
// redelivered later: by SQS, or by memqueue from its Journal when the
// process starts again (without a Journal, memqueue discards it with the
// rest of the queue, and the record's own deadline decides its fate).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind says what a message asks the worker to do.
type Kind string

// The kinds bucketlink sends.
const (
	// KindVerify asks for a verification record to be run; the key is the
	// record key.
	KindVerify Kind = "verify"
	// KindReverify asks for a stored config to be re-tested; the key is the
	// config uid.
	KindReverify Kind = "reverify"
)

// Limits on a Message's fields, well inside an SQS message (256 KiB) so a
// batch of ten always fits. MaxGroupLen is SQS's limit on a
// MessageGroupId.
const (
	MaxKindLen  = 32
	MaxKeyLen   = 512
	MaxGroupLen = 128
)

// Message is one unit of work: a kind and the key of the record it is
// about. It never carries secrets (see the package doc).
type Message struct {
	Kind Kind
	Key  string
	// Group names whose work this is, for fairness between tenants (see
	// the package doc): bucketlink sets the org id. Empty means none (see
	// the package doc).
	Group string
	// Attempt is the 1-based number of this delivery, set by the consumer
	// when it calls a Handler (on SQS, the approximate receive count). It is
	// not sent: Send ignores it.
	Attempt int
	// SentAt is when the message was sent, set by the consumer when it
	// knows (on SQS, the SentTimestamp attribute; memqueue, the time of
	// Send); zero when it does not. Like Attempt, it is not sent.
	SentAt time.Time
}

// String returns "kind:key", for logs.
func (m Message) String() string { return string(m.Kind) + ":" + m.Key }

// ErrInvalidMessage is wrapped by errors from Validate, Decode and Send for
// a message that is malformed.
var ErrInvalidMessage = errors.New("invalid queue message")

// ErrClosed is wrapped by errors from Send on a queue that no longer
// accepts messages.
var ErrClosed = errors.New("queue closed")

// Validate reports whether m can be sent. The kind is 1 to MaxKindLen
// characters of lower-case letters, digits, '-', '_' or '.', starting with
// a letter; the key is 1 to MaxKeyLen bytes of UTF-8 text without control
// characters; the group is empty or up to MaxGroupLen printable ASCII
// characters without spaces (what SQS accepts in a MessageGroupId).
func (m Message) Validate() error {
	if err := validateKind(m.Kind); err != nil {
		return err
	}
	if err := validateKey(m.Key); err != nil {
		return err
	}
	return validateGroup(m.Group)
}

func validateGroup(g string) error {
	if len(g) > MaxGroupLen {
		return fmt.Errorf("%w: group must be at most %d characters", ErrInvalidMessage, MaxGroupLen)
	}
	for _, c := range []byte(g) {
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: group: want printable ASCII characters without spaces", ErrInvalidMessage)
		}
	}
	return nil
}

func validateKind(k Kind) error {
	if k == "" || len(k) > MaxKindLen {
		return fmt.Errorf("%w: kind must be 1 to %d characters", ErrInvalidMessage, MaxKindLen)
	}
	for i, r := range string(k) {
		ok := r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("%w: kind %q: want lower-case letters, digits, '-', '_' or '.', starting with a letter", ErrInvalidMessage, k)
		}
	}
	return nil
}

func validateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key must be 1 to %d bytes", ErrInvalidMessage, MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: key is not valid UTF-8", ErrInvalidMessage)
	}
	if strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: key contains a control character", ErrInvalidMessage)
	}
	return nil
}

// wireMessage is the encoded form of a Message.
type wireMessage struct {
	Kind  Kind   `json:"kind"`
	Key   string `json:"key"`
	Group string `json:"group,omitempty"`
}

// Encode returns the body that carries m on a queue that moves text:
// {"kind":"verify","key":"...","group":"..."} (no group when empty).
// Attempt is not encoded.
func Encode(m Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(wireMessage{Kind: m.Kind, Key: m.Key, Group: m.Group})
	if err != nil {
		return "", fmt.Errorf("encode queue message: %w", err)
	}
	return string(b), nil
}

// Decode parses a body made by Encode and validates it. Unknown fields are
// ignored, so a newer sender can add some. The error wraps
// ErrInvalidMessage and does not quote the body.
func Decode(body string) (Message, error) {
	var w wireMessage
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		return Message{}, fmt.Errorf("%w: body is not a JSON message object", ErrInvalidMessage)
	}
	m := Message{Kind: w.Kind, Key: w.Key, Group: w.Group}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// Sender enqueues messages.
type Sender interface {
	// Send enqueues msgs, validating all of them first: if one is invalid,
	// none is sent and the error wraps ErrInvalidMessage. Otherwise Send
	// tries to enqueue every message; if some could not be, it returns a
	// *SendError listing them. The others were enqueued and will be
	// delivered. Send with no messages does nothing.
	Send(ctx context.Context, msgs ...Message) error
}

// Handler does the work one message asks for. It returns nil when the
// message is dealt with for good, and an error to have it delivered again
// (see the package doc). It must be idempotent and safe for concurrent use,
// and it must return promptly once ctx is done.
type Handler func(ctx context.Context, m Message) error

// SendError reports a Send that enqueued only some (or none) of its
// messages. Failed lists the messages that were not enqueued, so the caller
// can retry them or mark their records; the others were enqueued.
type SendError struct {
	Failed []Message
	Total  int   // number of messages given to Send
	Err    error // the cause (for several causes, the first)
}

// Error names how many messages failed and why.
func (e *SendError) Error() string {
	return fmt.Sprintf("queue: %d of %d messages not sent: %v", len(e.Failed), e.Total, e.Err)
}

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// ValidateAll validates every message, naming the index of the first
// invalid one. Implementations of Sender call it before sending anything.
func ValidateAll(msgs []Message) error {
	for i, m := range msgs {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

// ErrHandlerPanic is wrapped by the error Invoke returns for a Handler that
// panicked.
var ErrHandlerPanic = errors.New("queue handler panicked")

// Invoke calls h and turns a panic into an error wrapping ErrHandlerPanic,
// so one bad message cannot take down a worker pool or a whole Lambda
// batch. The panic value is included only when it is a runtime.Error (a
// nil dereference, an index out of range): any other value may hold
// anything, secrets included. The consumer treats the call as a failed
// delivery.
func Invoke(ctx context.Context, h Handler, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if re, ok := r.(runtime.Error); ok {
				err = fmt.Errorf("%w: message %s: %v", ErrHandlerPanic, m, re)
				return
			}
			err = fmt.Errorf("%w: message %s", ErrHandlerPanic, m)
		}
	}()
	return h(ctx, m)
}
