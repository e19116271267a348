package awsapp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub/ebpubtest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/queue"
)

// TestReverifyOnAWS checks the wiring of re-verification on AWS: the
// scheduler of NewScheduler finds a due config in DynamoDB Local and sends
// it to SQS (moto); the consumer of NewConsumer routes the message to the
// reverifier, which tests the bucket in MinIO with credentials opened by
// moto's KMS and publishes the flip on moto's EventBridge. A detached
// policy flips the config to unverified, a restored one back, one event
// each.
func TestReverifyOnAWS(t *testing.T) {
	moto := testenv.SharedMoto(t)
	t.Setenv("AWS_ENDPOINT_URL_SQS", moto.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.Endpoint)
	w := newWorld(t)
	ctx := ctxFor(t)
	client := sqs.NewFromConfig(moto.AWSConfig())
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("verify-" + randomHex(4))})
	if err != nil {
		t.Fatal(err)
	}
	sub := ebpubtest.Subscribe(t, moto)
	w.cfg.VerifyQueueURL = aws.ToString(q.QueueUrl)
	w.cfg.EventBus = sub.Bus
	var logs syncBuffer
	app, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	sched, err := newScheduler(w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := newConsumer(w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision.CreateOrg(ctx, w.store, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, w.store, "acme", identity.RoleAdmin, "ann")
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "reverify")
	w.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	policy := testenv.ReadWritePolicy(bucket)
	w.minio.AddUser(t, ak, sk, policy)
	body, _ := json.Marshal(map[string]any{
		"name": "Data", "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": "us-east-1",
		"s3_access_key_id": ak, "s3_secret_access_key": sk, "reverify_interval_seconds": 900,
	})
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v1/storage-configs/", bytes.NewReader(body))
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created map[string]any
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &created) != nil || created["is_verified"] != true {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	uid, _ := created["uid"].(string)

	now := time.Now()
	clock := func() time.Time { return now }
	sched.Clock, consumer.Reverify.Clock = clock, clock
	steps := []struct {
		name  string
		setup func()
		want  bool
	}{
		{"policy detached", func() { w.minio.DetachUserPolicy(t, ak) }, false},
		{"policy restored", func() { w.minio.SetUserPolicy(t, ak, policy) }, true},
	}
	for _, step := range steps {
		step.setup()
		now = now.Add(16 * time.Minute) // past the interval and a failure's backoff
		n, err := sched.RunOnce(ctx)
		if err != nil || n != 1 {
			t.Fatalf("%s: RunOnce = %d, %v; want 1 enqueued", step.name, n, err)
		}
		if n, err := sched.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("%s: second RunOnce = %d, %v; want 0", step.name, n, err)
		}
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("%s: receive: %v, %d messages, want 1", step.name, err, len(out.Messages))
		}
		m, err := queue.Decode(aws.ToString(out.Messages[0].Body))
		if err != nil || m.Kind != queue.KindReverify || m.Key != uid {
			t.Fatalf("%s: message %v, %v", step.name, m, err)
		}
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		if err := consumer.Handle(ctx, m); err != nil {
			t.Fatalf("%s: handle: %v", step.name, err)
		}
		c, err := w.store.GetConfig(ctx, uid)
		if err != nil || c.IsVerified != step.want {
			t.Fatalf("%s: config %+v, %v; want is_verified %v", step.name, c, err, step.want)
		}
		events := sub.Receive(t)
		if len(events) != 1 || events[0].Detail.UID != uid || events[0].Detail.New != step.want || events[0].Source != "bucketlink" {
			t.Fatalf("%s: events %+v, want one flip to %v", step.name, events, step.want)
		}
		if strings.Contains(events[0].Raw, sk) {
			t.Errorf("%s: the event holds the secret key", step.name)
		}
	}
	if out := logs.String(); strings.Contains(out, sk) || strings.Contains(out, key) {
		t.Error("the log holds a secret")
	}
}
