package queue

import "context"

// Journal keeps the messages an in-process queue (memqueue) has accepted
// and not finished, so that they outlive the process: a queue appends
// messages before Send returns, removes each once it is handled or
// dead-lettered, and recovers the rest when it starts again (after a
// crash, a kill -9 or a shutdown that cut work short). SQS needs none: the
// queue itself is durable.
//
// A journal may be shared by several processes (two `bucketlink serve` on
// one data directory): each recovers every entry, so a message can be
// delivered by both, which at-least-once delivery allows.
type Journal interface {
	// Append stores msgs durably, in order, and returns one id per
	// message. Either all are stored or none (and the error says why).
	Append(ctx context.Context, msgs []Message) ([]int64, error)
	// Remove deletes the entries with the given ids; ids already gone
	// are ignored.
	Remove(ctx context.Context, ids ...int64) error
	// Recover counts one more recovery of every entry and returns them
	// all, oldest first, with their new counts. Entries that no longer
	// decode as valid messages are deleted and not returned.
	Recover(ctx context.Context) ([]JournalEntry, error)
}

// JournalEntry is a message a Journal holds.
type JournalEntry struct {
	// ID is what Append returned for the message.
	ID int64
	// Message is the message as appended (Attempt zero).
	Message Message
	// Recoveries counts the Recover calls that returned the entry, this
	// one included: a message whose handling kills the process comes back
	// with a growing count, and the queue gives up on it after a few.
	Recoveries int
}
