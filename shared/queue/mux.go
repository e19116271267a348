package queue

import (
	"context"
	"fmt"
)

// ErrUnknownKind is wrapped by the error a Mux returns for a message whose
// kind it has no handler for.
var ErrUnknownKind = fmt.Errorf("%w: no handler for the kind", ErrInvalidMessage)

// Mux dispatches each message to the Handler registered for its Kind, so
// that one consumer (an in-process pool, one SQS queue) serves several
// kinds of work. A message of a kind without a handler is an error
// wrapping ErrUnknownKind: the queue retries it and then dead-letters it,
// where an operator sees it.
type Mux map[Kind]Handler

// Handle is the queue.Handler of m: it calls the handler of msg.Kind.
func (m Mux) Handle(ctx context.Context, msg Message) error {
	h, ok := m[msg.Kind]
	if !ok || h == nil {
		return fmt.Errorf("queue: message %s: %w", msg, ErrUnknownKind)
	}
	return h(ctx, msg)
}
