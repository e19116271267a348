package sqsqueue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/queuetest"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func motoSQS(t *testing.T) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(testenv.SharedMoto(t).AWSConfig())
}

// createQueue creates a fresh standard queue and returns its URL and ARN.
func createQueue(t *testing.T, client *sqs.Client, attrs map[string]string) (url, arn string) {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "bucketlink-test-" + hex.EncodeToString(b)
	out, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	url = aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		_, _ = client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	got, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("get queue arn: %v", err)
	}
	return url, got.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// receiveAll receives and deletes every message now visible on the queue.
func receiveAll(ctx context.Context, client *sqs.Client, url string) ([]queue.Message, error) {
	var msgs []queue.Message
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
		})
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if len(out.Messages) == 0 {
			return msgs, nil
		}
		for _, m := range out.Messages {
			qm, err := queue.Decode(aws.ToString(m.Body))
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, qm)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("delete: %w", err)
			}
		}
	}
}

// harness runs the conformance suite on moto's SQS: a queue with a
// redrive policy to a dead-letter queue, consumed by a Poller feeding
// BatchHandler, as Lambda's event source would.
type harness struct{}

func (harness) Open(ctx context.Context, t *testing.T, cfg queuetest.Config, h queue.Handler) queuetest.Pair {
	client := motoSQS(t)
	dlqURL, dlqARN := createQueue(t, client, nil)
	url, _ := createQueue(t, client, map[string]string{
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, dlqARN, cfg.MaxAttempts),
		"VisibilityTimeout": "30",
	})
	sender, err := sqsqueue.NewSender(client, url, sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	p := &sqsqueue.Poller{
		Client:   client,
		QueueURL: url,
		Handle:   sqsqueue.BatchHandler(h, cfg.Concurrency),
		WaitTime: time.Second,
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(ctx); err != nil {
			t.Errorf("Poller.Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-stopped })

	var mu sync.Mutex
	var dead []queue.Message
	return queuetest.Pair{
		Sender: sender,
		DeadLetters: func(ctx context.Context) ([]queue.Message, error) {
			mu.Lock()
			defer mu.Unlock()
			got, err := receiveAll(ctx, client, dlqURL)
			dead = append(dead, got...)
			return append([]queue.Message(nil), dead...), err
		},
		Stopped: stopped,
	}
}

func TestConformance(t *testing.T) { queuetest.Run(t, harness{}) }

// faultyAPI forwards SendMessageBatch to moto except for the entries its
// fault function fails, which it reports in Failed without sending.
type faultyAPI struct {
	real  sqsqueue.SendAPI
	fault func(call int, body string) *types.BatchResultErrorEntry // nil: forward

	mu    sync.Mutex
	calls []int // entries per call
}

func (f *faultyAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, len(in.Entries))
	f.mu.Unlock()
	if f.fault == nil {
		return f.real.SendMessageBatch(ctx, in, optFns...)
	}
	fwd := *in
	fwd.Entries = nil
	var failed []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if fe := f.fault(call, aws.ToString(e.MessageBody)); fe != nil {
			fe.Id = e.Id
			failed = append(failed, *fe)
			continue
		}
		fwd.Entries = append(fwd.Entries, e)
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(fwd.Entries) > 0 {
		var err error
		if out, err = f.real.SendMessageBatch(ctx, &fwd, optFns...); err != nil {
			return nil, err
		}
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}

func (f *faultyAPI) batchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.calls...)
}

func messages(n int) []queue.Message {
	var msgs []queue.Message
	for i := range n {
		msgs = append(msgs, queue.Message{Kind: queue.KindVerify, Key: "m" + strconv.Itoa(i)})
	}
	return msgs
}

func keyIs(body string, keys ...string) bool {
	m, err := queue.Decode(body)
	if err != nil {
		return false
	}
	for _, k := range keys {
		if m.Key == k {
			return true
		}
	}
	return false
}

var (
	throttled = func() *types.BatchResultErrorEntry {
		return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false}
	}
	rejected = func() *types.BatchResultErrorEntry {
		return &types.BatchResultErrorEntry{Code: aws.String("InvalidParameterValue"), Message: aws.String("bad entry"), SenderFault: true}
	}
	errNetwork = errors.New("connection reset")
)

type failingAPI struct{ calls int }

func (f *failingAPI) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls++
	return nil, errNetwork
}

func TestSenderBatches(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		fault      func(call int, body string) *types.BatchResultErrorEntry
		wantFailed []string // keys reported not sent
		wantSizes  []int    // entries per SendMessageBatch call
		wantCode   string   // of the *BatchEntryError cause
	}{
		{
			name: "25 messages in batches of 10", n: 25,
			wantSizes: []int{10, 10, 5},
		},
		{
			name: "server-side entry failures are retried", n: 12,
			fault: func(call int, body string) *types.BatchResultErrorEntry {
				if call < 2 && keyIs(body, "m1", "m4") { // fails on the first two attempts of batch 1
					return throttled()
				}
				return nil
			},
			wantSizes: []int{10, 2, 2, 2},
		},
		{
			name: "sender-fault entries are not retried", n: 12,
			fault: func(_ int, body string) *types.BatchResultErrorEntry {
				if keyIs(body, "m3", "m11") {
					return rejected()
				}
				return nil
			},
			wantFailed: []string{"m3", "m11"},
			wantSizes:  []int{10, 2},
			wantCode:   "InvalidParameterValue",
		},
		{
			name: "retries are bounded", n: 3,
			fault: func(_ int, body string) *types.BatchResultErrorEntry {
				if keyIs(body, "m2") {
					return throttled()
				}
				return nil
			},
			wantFailed: []string{"m2"},
			wantSizes:  []int{3, 1, 1, 1}, // first try and DefaultMaxRetries retries
			wantCode:   "InternalError",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := motoSQS(t)
			url, _ := createQueue(t, client, nil)
			api := &faultyAPI{real: client, fault: tc.fault}
			s, err := sqsqueue.NewSender(api, url, sqsqueue.SenderOptions{RetryDelay: func(int) time.Duration { return time.Millisecond }})
			if err != nil {
				t.Fatal(err)
			}
			msgs := messages(tc.n)
			err = s.Send(t.Context(), msgs...)
			var failed []string
			if err != nil {
				var se *queue.SendError
				if !errors.As(err, &se) {
					t.Fatalf("Send = %v, want a *queue.SendError", err)
				}
				if se.Total != tc.n {
					t.Errorf("SendError.Total = %d, want %d", se.Total, tc.n)
				}
				for _, m := range se.Failed {
					failed = append(failed, m.Key)
				}
				var be *sqsqueue.BatchEntryError
				if !errors.As(err, &be) || be.Code != tc.wantCode {
					t.Errorf("Send error %v: want a *BatchEntryError with code %s", err, tc.wantCode)
				}
				if want := fmt.Sprintf("%d of %d messages not sent", len(tc.wantFailed), tc.n); !strings.Contains(err.Error(), want) {
					t.Errorf("Send error %q does not say %q", err, want)
				}
			}
			if fmt.Sprint(failed) != fmt.Sprint(tc.wantFailed) {
				t.Errorf("not sent = %v, want %v", failed, tc.wantFailed)
			}
			if got := api.batchSizes(); fmt.Sprint(got) != fmt.Sprint(tc.wantSizes) {
				t.Errorf("batch sizes = %v, want %v", got, tc.wantSizes)
			}
			got, err := receiveAll(t.Context(), client, url)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, m := range got {
				seen[m.Key]++
			}
			for _, m := range msgs {
				wantN := 1
				for _, k := range tc.wantFailed {
					if k == m.Key {
						wantN = 0
					}
				}
				if seen[m.Key] != wantN {
					t.Errorf("%s is on the queue %d times, want %d", m.Key, seen[m.Key], wantN)
				}
			}
		})
	}
}

func TestSenderRequestFailureEndsSend(t *testing.T) {
	api := &failingAPI{}
	s, err := sqsqueue.NewSender(api, "http://127.0.0.1:1/queue/q", sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), messages(25)...)
	var se *queue.SendError
	if !errors.As(err, &se) || !errors.Is(err, errNetwork) {
		t.Fatalf("Send = %v, want a *SendError wrapping the request error", err)
	}
	if len(se.Failed) != 25 || se.Total != 25 {
		t.Errorf("SendError reports %d of %d failed, want 25 of 25", len(se.Failed), se.Total)
	}
	if api.calls != 1 {
		t.Errorf("%d requests, want 1: a failed request ends the Send", api.calls)
	}
}

func TestSenderValidatesFirst(t *testing.T) {
	api := &failingAPI{}
	s, err := sqsqueue.NewSender(api, "http://127.0.0.1:1/queue/q", sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), queue.Message{Kind: queue.KindVerify, Key: "ok"}, queue.Message{Kind: queue.KindVerify})
	if !errors.Is(err, queue.ErrInvalidMessage) || api.calls != 0 {
		t.Errorf("Send with an invalid message = %v after %d requests, want ErrInvalidMessage and none", err, api.calls)
	}
	if err := s.Send(t.Context()); err != nil || api.calls != 0 {
		t.Errorf("Send() = %v after %d requests, want nil and none", err, api.calls)
	}
}

func TestNewSenderRejects(t *testing.T) {
	tests := []struct {
		name   string
		client sqsqueue.SendAPI
		url    string
	}{
		{"nil client", nil, "http://q"},
		{"empty url", &failingAPI{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sqsqueue.NewSender(tc.client, tc.url, sqsqueue.SenderOptions{}); err == nil {
				t.Error("NewSender succeeded, want an error")
			}
		})
	}
}

// TestPollerAcknowledges checks that the poller deletes what succeeded and
// releases what failed at once, leaving the queue empty once all is done.
func TestPollerAcknowledges(t *testing.T) {
	client := motoSQS(t)
	url, _ := createQueue(t, client, map[string]string{"VisibilityTimeout": "30"})
	var mu sync.Mutex
	deliveries := map[string]int{}
	done := make(chan struct{})
	p := &sqsqueue.Poller{
		Client:   client,
		QueueURL: url,
		WaitTime: time.Second,
		Handle: sqsqueue.BatchHandler(func(_ context.Context, m queue.Message) error {
			mu.Lock()
			defer mu.Unlock()
			deliveries[m.Key]++
			if m.Key == "fails-once" && m.Attempt == 1 {
				return errors.New("transient")
			}
			if len(deliveries) == 3 && deliveries["fails-once"] == 2 {
				close(done)
			}
			return nil
		}, 2),
	}
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	s, err := sqsqueue.NewSender(client, url, sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), messages(2)[0], messages(2)[1], queue.Message{Kind: queue.KindVerify, Key: "fails-once"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out: the failed message was not redelivered at once")
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	attrs, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range attrs.Attributes {
		if v != "0" {
			t.Errorf("%s = %s after every message succeeded, want 0 (not deleted?)", name, v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if deliveries["m0"] != 1 || deliveries["m1"] != 1 {
		t.Errorf("deliveries = %v, want m0 and m1 once each", deliveries)
	}
}

func TestPollerNeedsConfig(t *testing.T) {
	if err := (&sqsqueue.Poller{}).Run(t.Context()); err == nil {
		t.Error("Run on an empty Poller succeeded, want an error")
	}
}

// TestSenderSetsMessageGroupID checks that a message's Group travels as
// the MessageGroupId of a standard queue (what makes it an SQS fair
// queue) and in the body, and that BatchHandler hands it back. moto keeps
// and returns MessageGroupId on standard queues, but does not reorder
// deliveries as AWS's fair queues do: only the wire is tested here.
func TestSenderSetsMessageGroupID(t *testing.T) {
	client := motoSQS(t)
	url, _ := createQueue(t, client, nil)
	sender, err := sqsqueue.NewSender(client, url, sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sent := []queue.Message{
		{Kind: queue.KindVerify, Key: "k1", Group: "42"},
		{Kind: queue.KindReverify, Key: "k2", Group: "7"},
		{Kind: queue.KindVerify, Key: "k3"},
	}
	if err := sender.Send(t.Context(), sent...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := map[string]string{"k1": "42", "k2": "7", "k3": ""}
	got := map[string]string{}
	var handled sync.Map
	h := sqsqueue.BatchHandler(func(_ context.Context, m queue.Message) error {
		handled.Store(m.Key, m.Group)
		return nil
	}, 3)
	for len(got) < len(sent) {
		out, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("received %d of %d messages", len(got), len(sent))
		}
		var ev events.SQSEvent
		for _, m := range out.Messages {
			qm, err := queue.Decode(aws.ToString(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			got[qm.Key] = m.Attributes["MessageGroupId"]
			// The handler must see the group even when only the attribute
			// carries it.
			body := fmt.Sprintf(`{"kind":%q,"key":%q}`, qm.Kind, qm.Key)
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: body, Attributes: m.Attributes})
		}
		if resp, err := h(t.Context(), ev); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("BatchHandler = %+v, %v", resp, err)
		}
	}
	for key, g := range want {
		if got[key] != g {
			t.Errorf("message %s: MessageGroupId %q, want %q", key, got[key], g)
		}
		if hg, _ := handled.Load(key); hg != g {
			t.Errorf("message %s: handler saw group %v, want %q", key, hg, g)
		}
	}
}
