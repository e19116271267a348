package lambdatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/metrics/metricstest"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// verifyBody is the bucket-verify answer, as clients read it.
type verifyBody struct {
	Success           bool   `json:"success"`
	Error             string `json:"error"`
	ConnectionStatus  string `json:"connectionStatus"`
	ConnectionError   string `json:"connectionError"`
	SignedURL         string `json:"signedUrl"`
	HasInfoLabelsFile *bool  `json:"hasInfoLabelsFile"`
}

// invokeWorker runs one SQS event through the worker's bootstrap and
// returns its batch response.
func invokeWorker(t testing.TB, f *lambdatest.Function, payload []byte) events.SQSEventResponse {
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
	var resp events.SQSEventResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	return resp
}

// TestVerifyFunctions runs the bucket-verify API as deployed, through the
// real bootstraps: verify-bucket (an API Gateway event) answers
// connecting and sends one message to the queue (moto's SQS); that
// message, as Lambda's SQS event source hands it over (the event of
// infra/events/verify-worker.json), runs the verification in verify-worker
// against MinIO and DynamoDB Local with KMS; the next poll answers
// connected. A duplicate delivery reports no failure and changes nothing;
// a malformed message is reported as a batch item failure.
func TestVerifyFunctions(t *testing.T) {
	s := newStack(t)
	api := s.start(t, "verify-bucket", s.env("verify-bucket"))
	worker := s.start(t, "verify-worker", s.env("verify-worker"))
	org, key := s.newOrg(t, "verifiers")
	b := s.newBucket(t)
	s.minio.PutObject(t, b.name, "annotations/train/info.labels", []byte("{}"))
	ev := s.event(t, "verify-bucket", edit{apiKey: key, orgID: strconv.FormatInt(org.ID, 10), bucket: b})

	resp := invokeHTTP(t, api, ev)
	wantStatus(t, "first POST", resp, http.StatusOK)
	if got := decode[verifyBody](t, resp); !got.Success || got.ConnectionStatus != "connecting" {
		t.Fatalf("first POST: %s", resp.Body)
	}
	resp = invokeHTTP(t, api, ev)
	if got := decode[verifyBody](t, resp); got.ConnectionStatus != "connecting" {
		t.Fatalf("second POST: %s", resp.Body)
	}

	// Exactly one message, carrying only the record key.
	client := sqs.NewFromConfig(s.moto.AWSConfig())
	out, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages on the queue, want 1", len(out.Messages))
	}
	body := aws.ToString(out.Messages[0].Body)
	m, err := queue.Decode(body)
	if err != nil || m.Kind != queue.KindVerify || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(m.Key) {
		t.Fatalf("message body %q: %v", body, err)
	}
	s.checkNoSecrets(t, "the queue message", body)
	rec, err := s.store.GetVerification(t.Context(), m.Key)
	if err != nil || len(rec.Sealed) == 0 || strings.Contains(string(rec.Sealed), b.secretAccessKey) {
		t.Fatalf("the record: %v; sealed %d bytes (want sealed credentials)", err, len(rec.Sealed))
	}

	workerEvent := s.event(t, "verify-worker", edit{recordKey: m.Key})
	if r := invokeWorker(t, worker, workerEvent); len(r.BatchItemFailures) != 0 {
		t.Fatalf("worker reported failures: %+v\n%s", r, worker.Output())
	}
	checkEMF(t, worker.Output(), []string{
		metrics.Verifications + " kind=bucket,outcome=passed,provider=aws_s3",
		metrics.QueueAge + " kind=verify",
	})
	s.checkNoSecrets(t, "the worker's output", worker.Output())
	resp = invokeHTTP(t, api, ev)
	got := decode[verifyBody](t, resp)
	if got.ConnectionStatus != "connected" || got.SignedURL == "" || got.HasInfoLabelsFile == nil || !*got.HasInfoLabelsFile {
		t.Fatalf("after the worker: %s", resp.Body)
	}
	rec, err = s.store.GetVerification(t.Context(), m.Key)
	if err != nil || rec.State != verification.StateConnected || len(rec.Sealed) != 0 {
		t.Fatalf("the record after the worker: %v, state %v, sealed %d bytes", err, rec.State, len(rec.Sealed))
	}

	// A duplicate delivery: no failure, no write.
	if r := invokeWorker(t, worker, workerEvent); len(r.BatchItemFailures) != 0 {
		t.Errorf("duplicate: failures %+v", r)
	}
	again, err := s.store.GetVerification(t.Context(), m.Key)
	if err != nil || again.Version != rec.Version {
		t.Errorf("duplicate wrote the record: version %d -> %d (%v)", rec.Version, again.Version, err)
	}

	// A malformed message fails alone.
	bad := setRecordBody(t, workerEvent, `{"kind":"verify"}`)
	r := invokeWorker(t, worker, bad)
	if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != "9f3b2c1e-4a5d-4e6f-8a7b-0c1d2e3f4a5b" {
		t.Errorf("malformed message: %+v", r)
	}

	// A bad key: 401 in the API's {success, error} shape.
	resp = invokeHTTP(t, api, s.event(t, "verify-bucket", edit{apiKey: "blk_" + randomString(36), orgID: strconv.FormatInt(org.ID, 10), bucket: b}))
	wantStatus(t, "bad key", resp, http.StatusUnauthorized)
	if got := decode[verifyBody](t, resp); got.Success || got.Error != "Invalid API key." {
		t.Errorf("bad key: %s", resp.Body)
	}
}

// setRecordBody replaces the body of the first record of an SQS event.
func setRecordBody(t testing.TB, payload []byte, body string) []byte {
	t.Helper()
	var e events.SQSEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	e.Records[0].Body = body
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWorkerEventSource checks the worker's wiring in template.yaml (its
// SQS event source with partial batch failures and a bounded concurrency,
// the queue's dead-letter queue) and its event in infra/events.
func TestWorkerEventSource(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	template := string(b)
	i := strings.Index(template, "\n  VerifyWorkerFunction:\n")
	if i < 0 {
		t.Fatal("template.yaml has no VerifyWorkerFunction")
	}
	fn := template[i+1:]
	if j := strings.Index(fn, "\n\n"); j > 0 {
		fn = fn[:j]
	}
	for _, want := range []string{"Type: SQS\n", "Queue: !GetAtt VerifyQueue.Arn\n", "FunctionResponseTypes: [ReportBatchItemFailures]\n",
		"MaximumConcurrency: ", "BatchSize: 5\n"} {
		if !strings.Contains(fn, want) {
			t.Errorf("VerifyWorkerFunction does not say %q", want)
		}
	}
	for _, want := range []string{"deadLetterTargetArn: !GetAtt VerifyDeadLetterQueue.Arn\n", "maxReceiveCount: "} {
		if !strings.Contains(template, want) {
			t.Errorf("template.yaml does not say %q", want)
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "infra", "events", "verify-worker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e events.SQSEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Records) != 1 || e.Records[0].EventSource != "aws:sqs" || e.Records[0].MessageId == "" {
		t.Fatalf("verify-worker.json: %+v", e)
	}
	body := strings.ReplaceAll(e.Records[0].Body, "REPLACE_WITH_RECORD_KEY", strings.Repeat("ab", 32))
	if m, err := queue.Decode(body); err != nil || m.Kind != queue.KindVerify {
		t.Errorf("verify-worker.json body: %v", err)
	}
}

// checkEMF finds the CloudWatch Embedded Metric Format lines of a
// function's output, holds each to the format's rules
// (metricstest.CheckEMF), and fails unless every entry of want, "metric
// dim=value,..." with the dimensions sorted, is among them.
func checkEMF(t *testing.T, output string, want []string) {
	t.Helper()
	var got []string
	for line := range strings.Lines(output) {
		if !strings.Contains(line, `"_aws":`) {
			continue
		}
		names, dims := metricstest.CheckEMF(t, []byte(line))
		var kv []string
		for k, v := range dims {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		for _, n := range names {
			got = append(got, n+" "+strings.Join(kv, ","))
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no EMF line for %q; the function wrote:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
