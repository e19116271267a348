// Package ebpub publishes storage config verification changes
// (changeevents.Change) to Amazon EventBridge: one PutEvents entry per
// change, with source "bucketlink", detail-type "Storage Config
// Verification Changed" and the change's JSON as the detail, on a bus the
// deployment names. Rules on that bus route the events to whoever
// subscribes (an SQS queue, a Lambda function, another bus).
//
// The function's role needs events:PutEvents on that bus only.
package ebpub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/errcode"
)

// API is the part of *eventbridge.Client a Publisher uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// MaxAttempts is how many times Publish offers an entry that EventBridge
// failed on its side (InternalFailure, throttling) before giving up. The
// SDK retries failed requests on its own.
const MaxAttempts = 3

// retryBackoff spaces those attempts: up to 100ms, doubling, fully
// jittered.
var retryBackoff = backoff.Exponential{Base: 100 * time.Millisecond}

// Publisher is a changeevents.Publisher on one EventBridge bus.
type Publisher struct {
	api API
	bus string
}

var _ changeevents.Publisher = (*Publisher)(nil)

// New returns a publisher that puts events on the bus named bus (its name
// or ARN; "default" is the account's default bus).
func New(api API, bus string) (*Publisher, error) {
	if api == nil || bus == "" {
		return nil, errors.New("ebpub: need a client and an event bus name")
	}
	return &Publisher{api: api, bus: bus}, nil
}

// Publish puts c on the bus as one event whose time is c.Time.
func (p *Publisher) Publish(ctx context.Context, c changeevents.Change) error {
	detail, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("publish change of %s: encode: %w", c.UID, err)
	}
	entry := types.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(changeevents.Source),
		DetailType:   aws.String(changeevents.DetailType),
		Detail:       aws.String(string(detail)),
		Time:         aws.Time(c.Time),
	}
	for attempt := 1; ; attempt++ {
		out, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
		if err != nil {
			return fmt.Errorf("publish change of %s: %w", c.UID, err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		code, msg := "unknown", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		switch {
		case !retryable(code):
			return fmt.Errorf("publish change of %s: eventbridge refused the event: %s: %s", c.UID, code, msg)
		case attempt == MaxAttempts:
			return fmt.Errorf("publish change of %s: %w", c.UID,
				errcode.New(errcode.Unavailable, "eventbridge failed the event %d times: %s: %s", attempt, code, msg))
		}
		if err := backoff.Sleep(ctx, retryBackoff.Delay(attempt)); err != nil {
			return fmt.Errorf("publish change of %s: %w", c.UID, err)
		}
	}
}

// retryable reports whether an entry's error code is EventBridge's own
// transient failure.
func retryable(code string) bool {
	return code == "InternalFailure" || code == "ThrottlingException"
}
