package memqueue_test

import (
	"context"
	"fmt"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
)

// The in-process queue as `bucketlink serve` uses it: the API sends a
// record key, a worker handles it, and Close drains before shutdown.
func Example() {
	q, err := memqueue.New(func(ctx context.Context, m queue.Message) error {
		fmt.Println("handling", m.Kind, m.Key, "attempt", m.Attempt)
		return nil
	}, memqueue.Options{Workers: 1})
	if err != nil {
		panic(err)
	}
	if err := q.Start(context.Background()); err != nil {
		panic(err)
	}
	if err := q.Send(context.Background(), queue.Message{Kind: queue.KindVerify, Key: "rec-1"}); err != nil {
		panic(err)
	}
	q.Close()
	// Output: handling verify rec-1 attempt 1
}
