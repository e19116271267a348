// Package sqsqueue is the work queue on Amazon SQS: a Sender that enqueues
// in batches, BatchHandler that turns a queue.Handler into the handler of a
// Lambda SQS event source with partial batch failure reporting, and a small
// Poller that plays the event source's part in tests and local runs.
//
// Retries and dead-lettering are the queue's: a record reported failed
// becomes visible again after its visibility timeout, and after the redrive
// policy's maxReceiveCount receives SQS moves it to the dead-letter queue.
// Only standard queues are supported: records of one batch run
// concurrently, which a FIFO queue's ordering forbids. A message's Group
// is sent as its MessageGroupId, which makes the standard queue a fair
// queue (Amazon SQS fair queues, 2025): when one group (an org) holds a
// disproportionate share of the in-flight messages or of the consumers'
// time, SQS delivers the other groups' messages first, so their dwell time
// stays low. Messages of one group still run concurrently, and consumers
// need no change.
//
// The package depends on the Lambda event types only
// (github.com/aws/aws-lambda-go/events), never on the Lambda runtime:
// functions/verify-worker wires BatchHandler into lambda.Start.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/bucketlink/bucketlink/shared/queue"
)

// MaxBatch is the most entries SQS takes in one SendMessageBatch.
const MaxBatch = 10

// DefaultMaxRetries is how many times a Sender retries entries that failed
// on the server's side.
const DefaultMaxRetries = 3

// SendAPI is the part of *sqs.Client a Sender uses.
type SendAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SenderOptions configure a Sender. The zero value is usable.
type SenderOptions struct {
	// MaxRetries is how many more times entries a batch reported failed on
	// the server's side (SenderFault false) are sent again (default
	// DefaultMaxRetries; negative means none). Entries failed by the sender's
	// fault are not retried. Whole-request failures are retried by the SDK's
	// own retryer, not here.
	MaxRetries int
	// RetryDelay returns the wait before retry n (1-based) of failed
	// entries (default 50ms doubling).
	RetryDelay func(n int) time.Duration
}

// Sender sends messages to one SQS queue. It is safe for concurrent use.
type Sender struct {
	client     SendAPI
	queueURL   string
	maxRetries int
	retryDelay func(int) time.Duration
}

var _ queue.Sender = (*Sender)(nil)

// NewSender returns a Sender for the queue at queueURL.
func NewSender(client SendAPI, queueURL string, opts SenderOptions) (*Sender, error) {
	if client == nil {
		return nil, errors.New("sqsqueue: nil SQS client")
	}
	if queueURL == "" {
		return nil, errors.New("sqsqueue: empty queue URL")
	}
	s := &Sender{client: client, queueURL: queueURL, maxRetries: opts.MaxRetries, retryDelay: opts.RetryDelay}
	switch {
	case s.maxRetries == 0:
		s.maxRetries = DefaultMaxRetries
	case s.maxRetries < 0:
		s.maxRetries = 0
	}
	if s.retryDelay == nil {
		s.retryDelay = func(n int) time.Duration { return 50 * time.Millisecond << min(n-1, 6) }
	}
	return s, nil
}

// BatchEntryError is the error SQS reported for one entry of a batch.
type BatchEntryError struct {
	Code        string
	Message     string
	SenderFault bool
}

// Error returns the code and message SQS gave.
func (e *BatchEntryError) Error() string {
	return fmt.Sprintf("sqs entry failed: %s: %s (sender fault %t)", e.Code, e.Message, e.SenderFault)
}

// Send enqueues msgs with SendMessageBatch, MaxBatch at a time. Entries a
// batch reports failed on the server's side are sent again, up to
// MaxRetries times. If some messages are not enqueued in the end, Send
// returns a *queue.SendError listing them, whose cause is the first
// failure (a *BatchEntryError, or the request's error). A request that
// fails outright ends the Send: its messages and those of later batches
// count as not sent, though a request that failed in flight may have
// enqueued some (delivery is at least once; a caller that retries them
// may cause duplicates).
func (s *Sender) Send(ctx context.Context, msgs ...queue.Message) error {
	if err := queue.ValidateAll(msgs); err != nil {
		return fmt.Errorf("sqsqueue: send: %w", err)
	}
	bodies := make([]string, len(msgs))
	groups := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := queue.Encode(m)
		if err != nil {
			return fmt.Errorf("sqsqueue: send: message %d: %w", i, err)
		}
		bodies[i], groups[i] = b, m.Group
	}
	var failed []int
	var cause error
	for start := 0; start < len(msgs); start += MaxBatch {
		end := min(start+MaxBatch, len(msgs))
		f, fatal, err := s.sendBatch(ctx, start, bodies[start:end], groups[start:end])
		failed = append(failed, f...)
		if err != nil && cause == nil {
			cause = err
		}
		if fatal {
			for i := end; i < len(msgs); i++ {
				failed = append(failed, i)
			}
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	se := &queue.SendError{Total: len(msgs), Err: cause}
	for _, i := range failed {
		se.Failed = append(se.Failed, msgs[i])
	}
	return se
}

// sendBatch sends one batch, whose first message has index offset in the
// Send, and returns the indexes of the messages not enqueued, whether the
// request itself failed (which ends the Send), and the first
// error. groups[i] is the MessageGroupId of bodies[i] (none when empty).
func (s *Sender) sendBatch(ctx context.Context, offset int, bodies, groups []string) (failed []int, fatal bool, cause error) {
	pending := make(map[string]int, len(bodies)) // entry id -> index in the Send
	for i := range bodies {
		pending[strconv.Itoa(offset+i)] = offset + i
	}
	for retry := 0; ; retry++ {
		out, err := s.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{
			QueueUrl: aws.String(s.queueURL),
			Entries:  entries(pending, bodies, groups, offset),
		})
		if err != nil {
			return append(failed, sortedValues(pending)...), true, fmt.Errorf("send message batch: %w", err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		var lastErr error
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			idx, known := pending[id]
			if !known {
				continue
			}
			e := &BatchEntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
			lastErr = e
			if f.SenderFault {
				delete(pending, id)
				failed = append(failed, idx)
				if cause == nil {
					cause = e
				}
			}
		}
		if len(pending) == 0 {
			slices.Sort(failed)
			return failed, false, cause
		}
		if lastErr == nil {
			lastErr = errors.New("sqs reported neither success nor failure for some entries")
		}
		if retry >= s.maxRetries {
			if cause == nil {
				cause = lastErr
			}
			failed = append(failed, sortedValues(pending)...)
			slices.Sort(failed)
			return failed, false, cause
		}
		if err := sleep(ctx, s.retryDelay(retry+1)); err != nil {
			return append(failed, sortedValues(pending)...), true, err
		}
	}
}

func entries(pending map[string]int, bodies, groups []string, offset int) []types.SendMessageBatchRequestEntry {
	out := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
	for _, idx := range sortedValues(pending) {
		e := types.SendMessageBatchRequestEntry{
			Id:          aws.String(strconv.Itoa(idx)),
			MessageBody: aws.String(bodies[idx-offset]),
		}
		if g := groups[idx-offset]; g != "" {
			e.MessageGroupId = aws.String(g)
		}
		out = append(out, e)
	}
	return out
}

func sortedValues(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
