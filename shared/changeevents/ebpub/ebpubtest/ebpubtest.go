// Package ebpubtest subscribes to bucketlink's change events on moto's
// EventBridge, for tests of the AWS path: a fresh event bus with a rule
// that sends every change event to an SQS queue, which Receive reads.
package ebpubtest

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/changeevents"
)

// Subscription is an event bus with a rule routing bucketlink's change
// events (by source and detail-type) to an SQS queue, as a subscriber
// would set it up.
type Subscription struct {
	// Bus is the name of the event bus; Client talks to moto's
	// EventBridge, for an ebpub.Publisher.
	Bus    string
	Client *eventbridge.Client

	sqs      *sqs.Client
	queueURL string
}

// Subscribe creates the bus, the queue and the rule on moto.
func Subscribe(t testing.TB, moto *testenv.Moto) *Subscription {
	t.Helper()
	cfg := moto.AWSConfig()
	ctx := t.Context()
	s := &Subscription{Bus: "bucketlink-" + uuid.NewString()[:8], Client: eventbridge.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	if _, err := s.Client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(s.Bus)}); err != nil {
		t.Fatalf("ebpubtest: create event bus: %v", err)
	}
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(s.Bus)})
	if err != nil {
		t.Fatalf("ebpubtest: create queue: %v", err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)
	attrs, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("ebpubtest: queue arn: %v", err)
	}
	pattern, err := json.Marshal(map[string]any{"source": []string{changeevents.Source}, "detail-type": []string{changeevents.DetailType}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("to-queue"), EventBusName: aws.String(s.Bus), EventPattern: aws.String(string(pattern)),
	}); err != nil {
		t.Fatalf("ebpubtest: put rule: %v", err)
	}
	if _, err := s.Client.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("to-queue"), EventBusName: aws.String(s.Bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	}); err != nil {
		t.Fatalf("ebpubtest: put targets: %v", err)
	}
	return s
}

// Event is the envelope EventBridge delivers to a target.
type Event struct {
	Source     string              `json:"source"`
	DetailType string              `json:"detail-type"`
	Detail     changeevents.Change `json:"detail"`
	// Raw is the message body as delivered.
	Raw string `json:"-"`
}

// Receive returns the events delivered to the queue since the last
// Receive, waiting up to a second for the first.
func (s *Subscription) Receive(t testing.TB) []Event {
	t.Helper()
	var out []Event
	for {
		msgs, err := s.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("ebpubtest: receive: %v", err)
		}
		if len(msgs.Messages) == 0 {
			return out
		}
		for _, m := range msgs.Messages {
			e := Event{Raw: aws.ToString(m.Body)}
			if err := json.Unmarshal([]byte(e.Raw), &e); err != nil {
				t.Fatalf("ebpubtest: event is not JSON: %v", err)
			}
			out = append(out, e)
			if _, err := s.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{
				QueueUrl: aws.String(s.queueURL), ReceiptHandle: m.ReceiptHandle,
			}); err != nil {
				t.Fatalf("ebpubtest: delete message: %v", err)
			}
		}
	}
}
