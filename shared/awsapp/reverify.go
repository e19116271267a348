package awsapp

import (
	"context"
	"log/slog"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/service"
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

// NewConsumer wires the verify-worker function: the bucket-verify worker
// and a reverify.Reverifier (service.Parts.Consumer) on the store of p, the
// sealer s (awsseal.New), the verifier v (awsverify.New) and the publisher
// of verification changes events (awsevents.New). It makes no call to AWS.
func NewConsumer(p *Parts, s seal.Sealer, v service.Verifier, events changeevents.Publisher) *Consumer {
	w, r, mux := p.Service(With{Sealer: s, Verifier: v, Events: events}).Consumer()
	return &Consumer{Verify: w, Reverify: r, Logger: p.Logger(), mux: mux}
}

// NewScheduler wires the reverify-scheduler function: a reverify.Scheduler
// that finds the due configs through the table's gsi2 and sends them to
// the verify queue through sender (awsqueue.New). It makes no call to AWS.
func NewScheduler(p *Parts, sender queue.Sender) *reverify.Scheduler {
	return &reverify.Scheduler{Store: p.Store(), Sender: sender, Logger: p.Logger()}
}
