package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PollAPI is the part of *sqs.Client a Poller uses.
type PollAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// ackTimeout bounds the deletes and visibility changes after a batch; they
// run even when the poller's context is done, so finished work is not
// redone.
const ackTimeout = 10 * time.Second

// Poller plays the part of Lambda's SQS event source, for tests and local
// runs: it receives batches, hands each to Handle as an events.SQSEvent,
// deletes the records that succeeded, and makes the failed ones visible
// again after RetryDelay. Dead-lettering is the queue's redrive policy.
// One batch is handled at a time; Handle bounds the concurrency within it.
type Poller struct {
	// Client talks to SQS.
	Client PollAPI
	// QueueURL is the queue to consume.
	QueueURL string
	// Handle handles one batch, as a Lambda function would (see
	// BatchHandler). An error fails the whole batch.
	Handle func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	// MaxMessages is the batch size, 1 to 10 (default 10).
	MaxMessages int
	// WaitTime is the long-poll wait of each receive, at most 20s (default
	// 20s).
	WaitTime time.Duration
	// VisibilityTimeout, if set, overrides the queue's for received
	// messages: how long a batch may take before its records are received
	// again.
	VisibilityTimeout time.Duration
	// RetryDelay is how long a failed record stays invisible before it is
	// received again (default 0: at once).
	RetryDelay time.Duration
}

// Run consumes the queue until ctx is done, then returns nil. The batch in
// hand when ctx is done is handled with the cancelled context (so its
// records fail and are redelivered later) and acknowledged. Run returns an
// error if a receive, a delete or a visibility change fails.
func (p *Poller) Run(ctx context.Context) error {
	if p.Client == nil || p.QueueURL == "" || p.Handle == nil {
		return errors.New("sqsqueue: poller needs a client, a queue URL and a handler")
	}
	for ctx.Err() == nil {
		out, err := p.Client.ReceiveMessage(ctx, p.receiveInput())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sqsqueue: receive: %w", err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		if err := p.handle(ctx, out.Messages); err != nil {
			return err
		}
	}
	return nil
}

func (p *Poller) receiveInput() *sqs.ReceiveMessageInput {
	n := p.MaxMessages
	if n < 1 || n > 10 {
		n = 10
	}
	wait := p.WaitTime
	if wait <= 0 || wait > 20*time.Second {
		wait = 20 * time.Second
	}
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(max(wait/time.Second, 1)),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	}
	if p.VisibilityTimeout > 0 {
		in.VisibilityTimeout = int32(max(p.VisibilityTimeout/time.Second, 1))
	}
	return in
}

// handle runs one batch through Handle and acknowledges it.
func (p *Poller) handle(ctx context.Context, msgs []types.Message) error {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Md5OfBody:     aws.ToString(m.MD5OfBody),
			Attributes:    m.Attributes,
			EventSource:   "aws:sqs",
		})
	}
	resp, herr := p.Handle(ctx, ev)
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var ok, retry []events.SQSMessage
	for _, r := range ev.Records {
		if herr != nil || failed[r.MessageId] {
			retry = append(retry, r)
		} else {
			ok = append(ok, r)
		}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	return errors.Join(p.deleteAll(actx, ok), p.releaseAll(actx, retry))
}

// deleteAll deletes the records that were handled.
func (p *Poller) deleteAll(ctx context.Context, recs []events.SQSMessage) error {
	if len(recs) == 0 {
		return nil
	}
	in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL)}
	for i, r := range recs {
		in.Entries = append(in.Entries, types.DeleteMessageBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle),
		})
	}
	out, err := p.Client.DeleteMessageBatch(ctx, in)
	if err != nil {
		return fmt.Errorf("sqsqueue: delete handled messages: %w", err)
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("sqsqueue: delete handled messages: %d of %d failed (first: %s)",
			len(out.Failed), len(recs), aws.ToString(out.Failed[0].Code))
	}
	return nil
}

// releaseAll makes failed records visible again after RetryDelay.
func (p *Poller) releaseAll(ctx context.Context, recs []events.SQSMessage) error {
	if len(recs) == 0 {
		return nil
	}
	in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(p.QueueURL)}
	for i, r := range recs {
		in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			ReceiptHandle:     aws.String(r.ReceiptHandle),
			VisibilityTimeout: int32(max(p.RetryDelay/time.Second, 0)),
		})
	}
	out, err := p.Client.ChangeMessageVisibilityBatch(ctx, in)
	if err != nil {
		return fmt.Errorf("sqsqueue: release failed messages: %w", err)
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("sqsqueue: release failed messages: %d of %d failed (first: %s)",
			len(out.Failed), len(recs), aws.ToString(out.Failed[0].Code))
	}
	return nil
}
