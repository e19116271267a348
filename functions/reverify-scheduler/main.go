// Command reverify-scheduler is the Lambda function that an EventBridge
// schedule (template.yaml, ReverifyRate, 5 minutes by default) invokes to
// enqueue the stored configs that are due for re-verification: it finds
// them through the table's sparse index gsi2, moves each one's next-due
// time forward with a conditional write (so two runs at once enqueue a
// config once), and sends them to the verify queue in SendMessageBatch
// calls as "reverify" messages, which the verify-worker function consumes
// (package reverify).
//
// It is wiring only: the typed configuration from the environment, the SDK
// clients built once at init, then reverify.Scheduler.RunOnce per event. A
// failed run returns an error, so the invocation is retried; whatever the
// run enqueued before failing stays enqueued, and the rest stays due.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsqueue"
	"github.com/bucketlink/bucketlink/shared/reverify"
)

// result is what an invocation returns: how many configs it enqueued.
type result struct {
	Enqueued int `json:"enqueued"`
}

func main() {
	cfg, err := awsapp.LoadConfig(os.Getenv, awsapp.NeedReverifyQueue)
	if err != nil {
		log.Fatalf("reverify-scheduler: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("reverify-scheduler: aws configuration: %v", err)
	}
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	q, err := awsqueue.New(p)
	if err != nil {
		log.Fatalf("reverify-scheduler: %v", err)
	}
	s := awsapp.NewScheduler(p, q)
	slog.SetDefault(s.Logger)
	lambda.Start(handler(s))
}

// handler runs the scheduler once per scheduled event.
func handler(s *reverify.Scheduler) func(context.Context, events.EventBridgeEvent) (result, error) {
	return func(ctx context.Context, e events.EventBridgeEvent) (result, error) {
		n, err := s.RunOnce(ctx) // logs one line per run
		if err != nil {
			return result{Enqueued: n}, fmt.Errorf("scheduled run %s: %w", e.ID, err)
		}
		return result{Enqueued: n}, nil
	}
}
