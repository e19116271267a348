package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/bucketlink/bucketlink/shared/queue"
)

// BatchHandler returns the handler of a Lambda SQS event source: it decodes
// each record and passes it to h, at most concurrency calls at once (less
// than 1 counts as 1), and reports the records that failed in
// BatchItemFailures, so SQS redelivers only those. The event source
// mapping must enable ReportBatchItemFailures.
//
// A record fails when its body is not a message made by queue.Encode (it
// then reaches the dead-letter queue after maxReceiveCount receives), when
// h returns an error or panics, or when ctx is done before its turn came:
// records not started by the function's deadline are reported failed
// without being handled. Each record's Attempt is its
// ApproximateReceiveCount, and its Group the body's (or else the record's
// MessageGroupId). Failures are logged with slog.Default, naming
// the SQS message id and the message (kind and key, never a body).
//
// The returned function's error is nil unless a failed record has no
// message id to report, which makes Lambda retry the whole batch.
func BatchHandler(h queue.Handler, concurrency int) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	concurrency = max(concurrency, 1)
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		errs := make([]error, len(ev.Records))
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for i, r := range ev.Records {
			if err := acquire(ctx, sem); err != nil {
				errs[i] = err
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = handleRecord(ctx, h, r)
			})
		}
		wg.Wait()
		return batchResponse(ctx, ev.Records, errs)
	}
}

// acquire takes a slot of sem, or fails once ctx is done.
func acquire(ctx context.Context, sem chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not started: %w", ctx.Err())
	}
}

// handleRecord decodes one record and calls h with it.
func handleRecord(ctx context.Context, h queue.Handler, r events.SQSMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	m, err := queue.Decode(r.Body)
	if err != nil {
		return err
	}
	m.Attempt = receiveCount(r.Attributes)
	m.SentAt = sentAt(r.Attributes)
	if m.Group == "" {
		// A sender that put the group in MessageGroupId only.
		m.Group = r.Attributes["MessageGroupId"]
	}
	if err := queue.Invoke(ctx, h, m); err != nil {
		return fmt.Errorf("handle %s: %w", m, err)
	}
	return nil
}

// sentAt reads SentTimestamp (epoch milliseconds), zero when absent or
// malformed.
func sentAt(attrs map[string]string) time.Time {
	ms, err := strconv.ParseInt(attrs["SentTimestamp"], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// receiveCount reads ApproximateReceiveCount, 1 when absent or malformed.
func receiveCount(attrs map[string]string) int {
	n, err := strconv.Atoi(attrs["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// batchResponse reports the records whose errs entry is set.
func batchResponse(ctx context.Context, records []events.SQSMessage, errs []error) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for i, err := range errs {
		if err == nil {
			continue
		}
		id := records[i].MessageId
		slog.Default().WarnContext(ctx, "sqsqueue: record failed", "messageId", id, "err", err)
		if id == "" {
			return events.SQSEventResponse{}, errors.New("sqsqueue: a failed record has no message id; failing the whole batch")
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}
