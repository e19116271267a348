package changeevents

import (
	"context"
	"fmt"
	"sync"
)

// SubscriberBuffer is how many changes a subscriber's channel holds before
// Publish waits for it.
const SubscriberBuffer = 64

// Bus is an in-process Publisher: every change is delivered to every
// current subscriber (the changes of one publishing goroutine in the order
// published). A slow subscriber slows Publish down (it waits while that
// subscriber's buffer is full, until ctx is done) rather than losing
// changes. The zero value is ready to use.
type Bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan Change
	done chan struct{} // closed by the cancel func
}

// Subscribe returns a channel that receives every change published from
// now on, and a function that ends the subscription. The channel is never
// closed (a publisher may be about to send); stop reading after cancel.
func (b *Bus) Subscribe() (<-chan Change, func()) {
	s := &subscriber{ch: make(chan Change, SubscriberBuffer), done: make(chan struct{})}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*subscriber]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(s.done)
		})
	}
}

// Publish delivers c to every subscriber. It fails only when ctx ends
// before a subscriber had room; the others have then received it.
func (b *Bus) Publish(ctx context.Context, c Change) error {
	b.mu.Lock()
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		select {
		case s.ch <- c:
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("publish change of %s: %w", c.UID, ctx.Err())
		}
	}
	return nil
}
