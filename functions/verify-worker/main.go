// Command verify-worker is the Lambda function that consumes the
// verification queue (SQS), whose messages are of two kinds, dispatched by
// kind (queue.Mux):
//
//   - "verify" (a bucket-verify API record key): it takes the record's
//     lease in DynamoDB, opens the credentials with KMS, runs the checks
//     against the customer's bucket and writes the outcome, each write
//     conditional on the record's version (package verifyworker);
//   - "reverify" (a stored config's uid, sent by reverify-scheduler): it
//     re-tests the config, stores the outcome and its history, and
//     publishes a change on the EventBridge bus BUCKETLINK_EVENT_BUS when
//     is_verified flips (package reverify).
//
// Records that fail are reported in the batch response
// (ReportBatchItemFailures), so SQS redelivers only those, and after the
// redrive policy's maxReceiveCount moves them to the dead-letter queue.
//
// It is wiring only: the typed configuration from the environment, the SDK
// clients built once at init, then sqsqueue.BatchHandler around the
// worker. template.yaml connects it to the queue with a bounded maximum
// concurrency and grants only what it uses.
package main

import (
	"log"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsevents"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsseal"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsverify"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
)

// batchConcurrency is how many records of one batch run at once: the
// template's BatchSize, so that a batch takes one verification's time and
// stays inside the function's Timeout and the queue's VisibilityTimeout.
const batchConcurrency = 5

func main() {
	cfg, err := awsapp.LoadConfig(os.Getenv, awsapp.NeedEventBus)
	if err != nil {
		log.Fatalf("verify-worker: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("verify-worker: aws configuration: %v", err)
	}
	// One queue, two kinds of work: bucket verifications and scheduled
	// re-verifications of stored configs, dispatched by message kind.
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	v, err := awsverify.New(p)
	if err != nil {
		log.Fatalf("verify-worker: %v", err)
	}
	events, err := awsevents.New(p)
	if err != nil {
		log.Fatalf("verify-worker: %v", err)
	}
	w := awsapp.NewConsumer(p, awsseal.New(p), v, events)
	slog.SetDefault(w.Logger) // BatchHandler logs failed records here
	lambda.Start(sqsqueue.BatchHandler(w.Handle, batchConcurrency))
}
