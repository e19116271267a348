package awsapp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// Consumer is the wired verify-worker function: one queue serves the
// bucket-verify API's verifications (queue.KindVerify, Verify) and the
// scheduled re-verifications of stored configs (queue.KindReverify,
// Reverify). Handle dispatches by kind.
type Consumer struct {
	Verify   *verifyworker.Worker
	Reverify *reverify.Reverifier
	// Logger is the function's JSON logger.
	Logger *slog.Logger

	mux queue.Mux
}

// Handle is the queue.Handler of the verify queue: it hands each message
// to the handler of its kind.
func (c *Consumer) Handle(ctx context.Context, m queue.Message) error { return c.mux.Handle(ctx, m) }

// NewConsumer wires the verify-worker function: the worker of NewWorker
// and a reverify.Reverifier on the same store, sealer and verifier, which
// publishes verification changes to the EventBridge bus cfg.EventBus (or,
// when it is empty, only logs them). It makes no call to AWS.
func NewConsumer(cfg Config, awsCfg aws.Config, opts Options) (*Consumer, error) {
	st, sealer, verifier, err := newParts(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, opts)
	events, err := publisher(cfg, awsCfg, log)
	if err != nil {
		return nil, err
	}
	w := &verifyworker.Worker{Store: st, Sealer: sealer, Verifier: verifier, LeaseTTL: cfg.VerifyDeadline + LeaseOverDeadline, Logger: log}
	r := &reverify.Reverifier{Store: st, Sealer: sealer, Verifier: verifier, Events: events, Logger: log}
	return &Consumer{
		Verify: w, Reverify: r, Logger: log,
		mux: queue.Mux{queue.KindVerify: w.Handle, queue.KindReverify: r.Handle},
	}, nil
}

// NewScheduler wires the reverify-scheduler function: a reverify.Scheduler
// that finds the due configs through the table's gsi2 and sends them to
// the verify queue (cfg.VerifyQueueURL, required). It makes no call to
// AWS.
func NewScheduler(cfg Config, awsCfg aws.Config, opts Options) (*reverify.Scheduler, error) {
	if cfg.VerifyQueueURL == "" {
		return nil, fmt.Errorf("awsapp: %s is required by the scheduler", EnvVerifyQueueURL)
	}
	sender, err := sqsqueue.NewSender(sqs.NewFromConfig(awsCfg), cfg.VerifyQueueURL, sqsqueue.SenderOptions{})
	if err != nil {
		return nil, fmt.Errorf("awsapp: %s: %w", EnvVerifyQueueURL, err)
	}
	return &reverify.Scheduler{
		Store:  dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Sender: sender,
		Logger: newLogger(cfg, opts),
	}, nil
}

// publisher is where verification changes go: the EventBridge bus
// cfg.EventBus, or only a log line when it is empty.
func publisher(cfg Config, awsCfg aws.Config, log *slog.Logger) (changeevents.Publisher, error) {
	if cfg.EventBus == "" {
		return changeevents.LogPublisher{Logger: log}, nil
	}
	p, err := ebpub.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBus)
	if err != nil {
		return nil, fmt.Errorf("awsapp: %s: %w", EnvEventBus, err)
	}
	return p, nil
}
