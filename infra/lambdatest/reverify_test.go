package lambdatest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

// TestReverifyScheduler runs the reverify-scheduler bootstrap with the
// scheduled event of infra/events/reverify-scheduler.json against DynamoDB
// Local and moto's SQS: the due configs, and only they, are enqueued as
// reverify messages, each once, and their next-due times move forward; a
// second run at once enqueues nothing.
func TestReverifyScheduler(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	client := sqs.NewFromConfig(s.moto.AWSConfig())
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bucketlink-reverify-" + randomString(8))})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(q.QueueUrl)
	f := s.start(t, "reverify-scheduler", setEnv(s.env("reverify-scheduler"), "BUCKETLINK_VERIFY_QUEUE_URL", queueURL))
	org, _ := s.newOrg(t, "scheduled")

	now := storageconfig.Now()
	var due []string
	for i := range 4 {
		next := now.Add(-time.Duration(i+1) * time.Minute)
		if i == 3 {
			next = now.Add(time.Hour) // not due
		}
		c := storetest.NewScheduledConfig(org.ID, 15*time.Minute, next)
		if err := s.store.CreateConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			due = append(due, c.UID)
		}
	}
	slices.Sort(due)

	event, err := os.ReadFile(filepath.Join(s.root, "infra", "events", "reverify-scheduler.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := invokeScheduler(t, f, event); got != len(due) {
		t.Fatalf("first run enqueued %d, want %d\n%s", got, len(due), f.Output())
	}
	if got := invokeScheduler(t, f, event); got != 0 {
		t.Errorf("second run enqueued %d, want 0", got)
	}

	var got []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			msg, err := queue.Decode(aws.ToString(m.Body))
			if err != nil || msg.Kind != queue.KindReverify {
				t.Fatalf("message %q: %v", aws.ToString(m.Body), err)
			}
			got = append(got, msg.Key)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, due) {
		t.Errorf("enqueued %v, want the due configs %v", got, due)
	}
	for _, uid := range due {
		c, err := s.store.GetConfig(ctx, uid)
		if err != nil || !c.NextReverifyAt.After(now) {
			t.Errorf("config %s: next due %v (%v), want after %v", uid, c.NextReverifyAt, err, now)
		}
	}
}

// invokeScheduler invokes the scheduler and returns how many configs it
// enqueued.
func invokeScheduler(t testing.TB, f *lambdatest.Function, payload []byte) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("invocation failed: %v; output:\n%s", res.Err, f.Output())
	}
	var out struct {
		Enqueued *int `json:"enqueued"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.Enqueued == nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	return *out.Enqueued
}

// TestSchedulerEvent checks infra/events/reverify-scheduler.json: a
// scheduled event from aws.events.
func TestSchedulerEvent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "infra", "events", "reverify-scheduler.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e events.EventBridgeEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Source != "aws.events" || e.DetailType != "Scheduled Event" || len(e.Resources) != 1 || !strings.Contains(e.Resources[0], ":rule/") {
		t.Errorf("reverify-scheduler.json: %+v", e)
	}
}

// TestReverifyWorker runs a scheduled re-verification through the real
// bootstraps: reverify-scheduler enqueues a due config whose MinIO user
// has lost its policy; that message, handed to verify-worker as Lambda's
// SQS event source would, re-tests the config (credentials opened with
// moto's KMS), stores is_verified false and publishes one change event on
// moto's EventBridge, without a secret in it.
func TestReverifyWorker(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	client := sqs.NewFromConfig(s.moto.AWSConfig())
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bucketlink-reverify-" + randomString(8))})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(q.QueueUrl)
	sched := s.start(t, "reverify-scheduler", setEnv(s.env("reverify-scheduler"), "BUCKETLINK_VERIFY_QUEUE_URL", queueURL))
	worker := s.start(t, "verify-worker", s.env("verify-worker"))
	org, _ := s.newOrg(t, "reverified")
	b := s.newBucket(t)

	c := storetest.NewScheduledConfig(org.ID, 15*time.Minute, storageconfig.Now().Add(-time.Minute))
	c.Settings.(*s3.Settings).BucketName, c.Settings.(*s3.Settings).Region = b.name, "us-east-1"
	plain, err := json.Marshal(storageconfig.Credentials{"access_key_id": b.accessKeyID, "secret_access_key": b.secretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	sealer := kmsseal.New(kms.NewFromConfig(s.moto.AWSConfig()), s.keyID)
	if c.Sealed, err = sealer.Seal(ctx, plain, seal.Binding{OrgID: org.ID, ConfigUID: c.UID}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.minio.DetachUserPolicy(t, b.accessKeyID)

	event, err := os.ReadFile(filepath.Join(s.root, "infra", "events", "reverify-scheduler.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := invokeScheduler(t, sched, event); n != 1 {
		t.Fatalf("scheduler enqueued %d, want 1\n%s", n, sched.Output())
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages, want 1", err, len(out.Messages))
	}
	body := aws.ToString(out.Messages[0].Body)
	workerEvent := setRecordBody(t, s.event(t, "verify-worker", edit{recordKey: "unused"}), body)
	if r := invokeWorker(t, worker, workerEvent); len(r.BatchItemFailures) != 0 {
		t.Fatalf("worker reported failures: %+v\n%s", r, worker.Output())
	}
	got, err := s.store.GetConfig(ctx, c.UID)
	if err != nil || got.IsVerified {
		t.Fatalf("config after the worker: is_verified %v (%v), want false", got != nil && got.IsVerified, err)
	}
	evs := s.events.Receive(t)
	if len(evs) != 1 || evs[0].Detail.UID != c.UID || evs[0].Detail.New || !evs[0].Detail.Previous || evs[0].Detail.Trigger != "schedule" {
		t.Fatalf("events %+v, want one flip to false", evs)
	}
	s.checkNoSecrets(t, "the change event", evs[0].Raw)

	// A redelivery of the same message re-tests, but nothing flips: no
	// second event.
	if r := invokeWorker(t, worker, workerEvent); len(r.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: failures %+v", r)
	}
	if evs := s.events.Receive(t); len(evs) != 0 {
		t.Errorf("redelivery published %d events", len(evs))
	}
}
