package sqsqueue_test

import (
	"context"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
)

// BatchHandler is what a Lambda function consuming the queue starts; in
// functions/verify-worker/main.go:
//
//	lambda.Start(sqsqueue.BatchHandler(worker.Handle, 4))
//
// with ReportBatchItemFailures enabled on the event source mapping.
func ExampleBatchHandler() {
	handle := func(ctx context.Context, m queue.Message) error {
		// Load the record by m.Key, take a lease, run the checks, write the
		// result. A duplicate delivery finds the record done and returns nil.
		return nil
	}
	_ = sqsqueue.BatchHandler(handle, 4)
}
