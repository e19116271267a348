package verifyworker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// awsStack is the AWS deployment of the bucket-verify API with emulators:
// records and identities in DynamoDB Local, credentials sealed with
// moto's KMS, the queue and its dead-letter queue in moto's SQS, and the
// customers' buckets in MinIO. The API (the verify-bucket function's
// handler) sends to SQS; a Poller plays Lambda's SQS event source for the
// worker (the verify-worker function's BatchHandler).
type awsStack struct {
	store    *dynamostore.Store
	sqs      *sqs.Client
	queueURL string
	dlqURL   string
	minio    *testenv.MinIO
	srv      *httptest.Server
	worker   *verifyworker.Worker
	runs     atomic.Int64
	orgID    int64
	key      string // a member's API key
	table    string
	ddb      *dynamodb.Client
	vkey     []byte // Server.VerifyKey
	secrets  []string
	logs     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// counting counts runs.
type counting struct {
	inner verifyworker.BucketVerifier
	n     *atomic.Int64
}

func (c counting) VerifyBucket(ctx context.Context, cfg *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	c.n.Add(1)
	return c.inner.VerifyBucket(ctx, cfg, creds)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newAWSStack builds the stack; wrapH and wrapV, if set, wrap the worker's
// handler as the event source calls it, and its verifier.
func newAWSStack(t *testing.T, lease time.Duration, wrapH func(queue.Handler) queue.Handler,
	wrapV func(verifyworker.BucketVerifier) verifyworker.BucketVerifier) *awsStack {
	t.Helper()
	ctx := t.Context()
	ddb := testenv.SharedDynamoDB(t)
	moto := testenv.SharedMoto(t)
	s := &awsStack{minio: testenv.SharedMinIO(t), sqs: sqs.NewFromConfig(moto.AWSConfig()), logs: &lockedBuffer{}}
	table := testenv.TableName(t)
	client := ddb.Client(t)
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	s.store = dynamostore.New(client, table)
	s.table, s.ddb = table, client
	sealer := kmsseal.New(kms.NewFromConfig(moto.AWSConfig()), moto.NewKMSKey(t))

	// The queue and its dead-letter queue, as template.yaml declares them.
	dlq, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("verify-dlq-" + randomHex(4))})
	if err != nil {
		t.Fatal(err)
	}
	s.dlqURL = aws.ToString(dlq.QueueUrl)
	attrs, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	redrive, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(types.QueueAttributeNameQueueArn)], "maxReceiveCount": "10",
	})
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("verify-" + randomHex(4)),
		Attributes: map[string]string{"RedrivePolicy": string(redrive), "VisibilityTimeout": "30"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)
	sender, err := sqsqueue.NewSender(s.sqs, s.queueURL, sqsqueue.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	verifier := &verify.Verifier{
		Opener: &anyblob.Opener{
			HTTPClient:      netguard.Policy{AllowPrivate: true}.HTTPClient(),
			S3:              &s3open.Opener{AWSEndpoint: s.minio.Endpoint},
			GCSHMACEndpoint: s.minio.Endpoint,
			GCSHMACRegion:   s.minio.Region,
		},
		Deadline: 2 * time.Second,
	}
	var bv verifyworker.BucketVerifier = counting{verifier, &s.runs}
	if wrapV != nil {
		bv = wrapV(bv)
	}
	s.worker = &verifyworker.Worker{Store: s.store, Sealer: sealer, Verifier: bv, LeaseTTL: lease, Logger: log}
	var h queue.Handler = s.worker.Handle
	if wrapH != nil {
		h = wrapH(h)
	}
	p := &sqsqueue.Poller{
		Client: s.sqs, QueueURL: s.queueURL, Handle: sqsqueue.BatchHandler(h, 4),
		WaitTime: time.Second, RetryDelay: time.Second,
	}
	pctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(pctx); err != nil {
			t.Errorf("poller: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-stopped })

	verifyKey := make([]byte, 32)
	_, _ = rand.Read(verifyKey)
	s.vkey = verifyKey
	api := &httpapi.Server{
		Store: s.store, Sealer: sealer, Verifier: verifier, CursorKey: verifyKey[:16], Logger: log,
		Queue: sender, VerifyKey: verifyKey, VerifyRecordDeadline: 30 * time.Second,
	}
	s.srv = httptest.NewServer(api.Handler())
	t.Cleanup(s.srv.Close)
	org, err := provision.CreateOrg(ctx, s.store, "acme-"+randomHex(3), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	s.orgID = org.ID
	s.key, _, err = provision.CreateAPIKey(ctx, s.store, org.Slug, identity.RoleMember, "ann-"+randomHex(3))
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, s.key)
	t.Cleanup(func() {
		for _, secret := range s.secrets {
			if strings.Contains(s.logs.String(), secret) {
				t.Error("a secret appears in the log")
			}
		}
	})
	return s
}

// bucketBody makes a MinIO bucket and user and returns a request for it.
func (s *awsStack) bucketBody(t *testing.T) map[string]any {
	t.Helper()
	bucket := testenv.BucketName(t, "sqs")
	s.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	s.secrets = append(s.secrets, sk)
	s.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	s.minio.PutObject(t, bucket, "data/info.labels", []byte("{}"))
	return map[string]any{"accessKey": ak, "secretKey": sk, "bucket": bucket, "prefix": "data/"}
}

// post sends a bucket-verify request and decodes the answer.
func (s *awsStack) post(t *testing.T, body map[string]any) bucketverify.Response {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/v1/api/organizations/"+jsonInt(s.orgID)+"/buckets/verify", bytes.NewReader(raw))
	req.Header.Set("x-api-key", s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r bucketverify.Response
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil || !r.Success {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	return r
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// poll posts until the answer is final.
func (s *awsStack) poll(t *testing.T, body map[string]any, within time.Duration) bucketverify.Response {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		r := s.post(t, body)
		if r.ConnectionStatus != verification.StateConnecting {
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("still connecting after %s", within)
		}
	}
}

// recordKey is the record key of body, as the API computes it.
func (s *awsStack) recordKey(t *testing.T, body map[string]any) string {
	t.Helper()
	raw, _ := json.Marshal(body)
	p, err := bucketverify.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return verification.RecordKey(s.vkey, s.orgID, p.Request, p.SecretKey)
}

// queueEmpty waits until neither queue holds a message, visible or not.
func (s *awsStack) queueEmpty(t *testing.T) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		total := 0
		for _, u := range []string{s.queueURL, s.dlqURL} {
			out, err := s.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
				QueueUrl: aws.String(u),
				AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
					types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out.Attributes {
				if v != "0" {
					total++
				}
			}
		}
		if total == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatal("messages left on the queue or its dead-letter queue")
		}
	}
}

// TestSQSAndDynamoDB runs the bucket-verify API as deployed: the API
// sends one message to SQS, the worker consumes it through the Lambda
// batch handler and advances the record in DynamoDB, sealed with KMS. A
// duplicate message is a no-op and is deleted, not dead-lettered.
func TestSQSAndDynamoDB(t *testing.T) {
	s := newAWSStack(t, 5*time.Second, nil, nil)
	body := s.bucketBody(t)
	if r := s.post(t, body); r.ConnectionStatus != verification.StateConnecting {
		t.Fatalf("first POST: %+v", r)
	}
	r := s.poll(t, body, 20*time.Second)
	if r.ConnectionStatus != verification.StateConnected || r.SignedURL == "" || r.HasInfoLabelsFile == nil || !*r.HasInfoLabelsFile {
		t.Fatalf("answer: %+v", r)
	}
	s.queueEmpty(t)

	// A duplicate delivery of the same message changes nothing.
	key := s.recordKey(t, body)
	before, err := s.store.GetVerification(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	sender, _ := sqsqueue.NewSender(s.sqs, s.queueURL, sqsqueue.SenderOptions{})
	if err := sender.Send(t.Context(), queue.Message{Kind: queue.KindVerify, Key: key}); err != nil {
		t.Fatal(err)
	}
	s.queueEmpty(t)
	after, err := s.store.GetVerification(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || s.runs.Load() != 1 {
		t.Errorf("duplicate message: version %d -> %d, %d runs", before.Version, after.Version, s.runs.Load())
	}
	if after.State != verification.StateConnected || len(after.Sealed) != 0 || after.Attempts != 1 {
		t.Errorf("stored record: state %s, sealed %d bytes, attempts %d", after.State, len(after.Sealed), after.Attempts)
	}
	types := []verification.EventType{}
	for _, ev := range after.Events {
		types = append(types, ev.Type)
	}
	if types[0] != verification.EventVerificationStarted || types[len(types)-1] != verification.EventVerificationSucceeded {
		t.Errorf("history = %v", types)
	}
}

// TestSQSRedeliveryTakesOver has the first delivery's worker die after it
// took the lease (its context ends mid-run, nothing is written): SQS
// delivers the message again, the worker refuses it while the lease holds
// (a batch item failure), then takes the lease over and completes the
// verification as a second attempt.
func TestSQSRedeliveryTakesOver(t *testing.T) {
	const lease = 3 * time.Second
	var deliveries atomic.Int64
	started := make(chan struct{}, 1)
	var stalled atomic.Bool
	s := newAWSStack(t, lease, func(h queue.Handler) queue.Handler {
		return func(ctx context.Context, m queue.Message) error {
			if deliveries.Add(1) > 1 {
				return h(ctx, m)
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() { <-started; cancel() }()
			return h(ctx, m)
		}
	}, func(v verifyworker.BucketVerifier) verifyworker.BucketVerifier {
		return stall{inner: v, started: started, done: &stalled}
	})
	body := s.bucketBody(t)
	begin := time.Now()
	r := s.poll(t, body, 30*time.Second)
	if r.ConnectionStatus != verification.StateConnected {
		t.Fatalf("answer: %+v", r)
	}
	if took := time.Since(begin); took < lease {
		t.Errorf("connected after %s, before the dead run's lease (%s) expired", took, lease)
	}
	rec, err := s.store.GetVerification(t.Context(), s.recordKey(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Attempts != 2 || s.runs.Load() != 1 || deliveries.Load() < 3 {
		t.Errorf("attempts %d (want 2), runs after the dead one %d (want 1), deliveries %d (want 3 or more)",
			rec.Attempts, s.runs.Load(), deliveries.Load())
	}
	s.queueEmpty(t)
}

// stall makes the first run hang until its context ends.
type stall struct {
	inner   verifyworker.BucketVerifier
	started chan struct{}
	done    *atomic.Bool
}

func (s stall) VerifyBucket(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	if s.done.Swap(true) {
		return s.inner.VerifyBucket(ctx, c, creds)
	}
	s.started <- struct{}{}
	<-ctx.Done()
	return verify.BucketResult{}
}
