package lambdatest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub/ebpubtest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
)

// storageConfigFunctions are the functions of the storage-configs API,
// one per endpoint, as named under functions/.
var storageConfigFunctions = []string{
	"list-storage-configs",
	"create-storage-config",
	"get-storage-config",
	"patch-storage-config",
	"list-config-verifications",
	"test-storage-config",
	"delete-storage-config",
	"get-setup-info",
}

// httpFunctions are the functions behind the HTTP API: the storage-configs
// API's, the bucket-verify API's, the connect sessions' and the OpenAPI
// document's.
var httpFunctions = append(slices.Clone(storageConfigFunctions), "verify-bucket", "verify-existing-bucket", "create-connect-session", "get-openapi")

// functionNames are all the functions of template.yaml: the HTTP ones, the
// SQS consumer verify-worker and the scheduled reverify-scheduler.
var functionNames = append(slices.Clone(httpFunctions), "verify-worker", "reverify-scheduler", "connect-page")

// stack is what a deployment gives the functions, with real emulators:
// a table in DynamoDB Local, a KMS key and the cursor secret in moto, and
// customers' buckets in MinIO.
type stack struct {
	root    string
	ddb     *testenv.DynamoDB
	moto    *testenv.Moto
	minio   *testenv.MinIO
	store   *dynamostore.Store
	table   string
	keyID   string
	secret  string // ARN of the cursor secret
	account string // BUCKETLINK_AWS_ACCOUNT_ID

	// The bucket-verify API: the queue of verifications in moto, and the
	// secret that keys record keys.
	queueURL     string
	verifySecret string
	// events is the event bus verify-worker publishes changes to, with a
	// subscriber.
	events *ebpubtest.Subscription

	mu      sync.Mutex
	secrets []string // values that must never appear in output
}

func newStack(tb testing.TB) *stack {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &stack{root: repoRoot(tb), ddb: testenv.SharedDynamoDB(tb), moto: testenv.SharedMoto(tb), minio: testenv.SharedMinIO(tb)}
	s.table = testenv.TableName(tb)
	client := s.ddb.Client(tb)
	if err := dynamostore.CreateTable(ctx, client, s.table); err != nil {
		tb.Fatal(err)
	}
	s.store = dynamostore.New(client, s.table)
	s.keyID = s.moto.NewKMSKey(tb)
	value := randomString(64)
	s.remember(value)
	out, err := secretsmanager.NewFromConfig(s.moto.AWSConfig()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("bucketlink-cursor-" + randomString(8)),
		SecretString: aws.String(value),
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.secret = aws.ToString(out.ARN)
	s.account = randomDigits(12)
	value = randomString(64)
	s.remember(value)
	out, err = secretsmanager.NewFromConfig(s.moto.AWSConfig()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("bucketlink-verify-key-" + randomString(8)),
		SecretString: aws.String(value),
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.verifySecret = aws.ToString(out.ARN)
	q, err := sqs.NewFromConfig(s.moto.AWSConfig()).CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String("bucketlink-verify-" + randomString(8)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)
	s.events = ebpubtest.Subscribe(tb, s.moto)
	return s
}

func (s *stack) remember(secret string) {
	s.mu.Lock()
	s.secrets = append(s.secrets, secret)
	s.mu.Unlock()
}

// env is the environment template.yaml gives function name, pointed at the
// emulators through the SDK's per-service endpoint variables. The AWS
// credentials are random: both emulators accept any.
func (s *stack) env(name string) []string {
	id, secret := randomString(20), randomString(40)
	s.remember(secret)
	env := []string{
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + id,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.ddb.Endpoint,
		"AWS_ENDPOINT_URL_KMS=" + s.moto.Endpoint,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.moto.Endpoint,
		"AWS_ENDPOINT_URL_SQS=" + s.moto.Endpoint,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + s.moto.Endpoint,
		"BUCKETLINK_TABLE=" + s.table,
		"BUCKETLINK_KMS_KEY_ID=" + s.keyID,
		"BUCKETLINK_AWS_ACCOUNT_ID=" + s.account,
		// MinIO listens on 127.0.0.1, and stands in for AWS S3.
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS=true",
		"BUCKETLINK_AWS_S3_ENDPOINT=" + s.minio.Endpoint,
		"BUCKETLINK_VERIFY_DEADLINE=15s",
		"BUCKETLINK_LOG_LEVEL=debug",
	}
	switch name {
	case "list-storage-configs", "list-config-verifications":
		env = append(env, "BUCKETLINK_CURSOR_SECRET_ID="+s.secret)
	case "verify-bucket", "verify-existing-bucket":
		env = append(env, "BUCKETLINK_VERIFY_QUEUE_URL="+s.queueURL, "BUCKETLINK_VERIFY_KEY_SECRET_ID="+s.verifySecret)
	case "verify-worker":
		env = append(env, "BUCKETLINK_EVENT_BUS="+s.events.Bus)
	case "reverify-scheduler":
		env = append(env, "BUCKETLINK_VERIFY_QUEUE_URL="+s.queueURL)
	}
	return env
}

// setEnv returns env with name set to value.
func setEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// getEnv returns name's value in env.
func getEnv(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// start builds function name for this machine (as `sam build` does, but
// for the host's architecture), starts it against its own Runtime API and
// waits for the end of its init.
func (s *stack) start(tb testing.TB, name string, env []string) *lambdatest.Function {
	tb.Helper()
	bootstrap := lambdatest.BuildFunction(tb, s.root, name, lambdatest.HostTarget())
	f := lambdatest.Start(tb, bootstrap, lambdatest.Options{Name: name, Env: env, Timeout: 25 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := f.WaitInit(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, ok := tb.(*testing.T); ok {
		tb.Logf("%s: init %s", name, d)
	}
	tb.Cleanup(func() { s.checkNoSecrets(tb, name+" output", f.Output()) })
	return f
}

// newOrg creates an org and an admin API key in the table.
func (s *stack) newOrg(tb testing.TB, slug string) (*identity.Org, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	org, err := provision.CreateOrg(ctx, s.store, slug, slug)
	if err != nil {
		tb.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, s.store, slug, identity.RoleAdmin, slug+"-admin")
	if err != nil {
		tb.Fatal(err)
	}
	s.remember(key)
	return org, key
}

// bucket is a customer's bucket in MinIO, with a user allowed to use it.
type bucket struct{ name, accessKeyID, secretAccessKey string }

func (s *stack) newBucket(tb testing.TB) bucket {
	tb.Helper()
	b := bucket{name: testenv.BucketName(tb, "cust")}
	b.accessKeyID, b.secretAccessKey = testenv.NewCredentials(tb)
	b.accessKeyID = strings.ToUpper(b.accessKeyID) // the aws_s3 key-id format
	s.remember(b.secretAccessKey)
	s.minio.CreateBucket(tb, b.name)
	s.minio.AddUser(tb, b.accessKeyID, b.secretAccessKey, testenv.ReadWritePolicy(b.name))
	return b
}

func (s *stack) checkNoSecrets(tb testing.TB, what, text string) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, secret := range s.secrets {
		if strings.Contains(text, secret) {
			tb.Errorf("%s contains a secret", what)
		}
	}
}

// edit says how to fill in an event of infra/events.
type edit struct {
	apiKey    string
	uid       string
	configID  string // a config's integer id
	orgID     string // the bucket-verify path's organizationId
	recordKey string // the key an SQS message of verify-worker names
	bucket    bucket
	query     url.Values // replaces the query string when not nil
	body      string     // replaces the body when not empty
}

// event returns infra/events/<name>.json with its placeholders replaced.
// Every placeholder must be replaced: the fixtures and this test agree.
func (s *stack) event(tb testing.TB, name string, e edit) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "infra", "events", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	if e.body != "" {
		raw = setField(tb, raw, "body", e.body)
	}
	pairs := []string{
		"REPLACE_WITH_API_KEY", e.apiKey,
		"REPLACE_WITH_CONFIG_UID", e.uid,
		"REPLACE_WITH_CONFIG_ID", e.configID,
		"REPLACE_WITH_ORG_ID", e.orgID,
		"REPLACE_WITH_RECORD_KEY", e.recordKey,
		"REPLACE_WITH_BUCKET", e.bucket.name,
		"REPLACE_WITH_ACCESS_KEY_ID", e.bucket.accessKeyID,
		"REPLACE_WITH_SECRET_ACCESS_KEY", e.bucket.secretAccessKey,
	}
	for i := 0; i < len(pairs); i += 2 {
		if strings.Contains(string(raw), pairs[i]) && pairs[i+1] == "" {
			tb.Fatalf("event %s: no value for %s", name, pairs[i])
		}
	}
	text := strings.NewReplacer(pairs...).Replace(string(raw))
	if strings.Contains(text, "REPLACE_WITH_") {
		tb.Fatalf("event %s: a placeholder this test does not know", name)
	}
	out := []byte(text)
	if e.query != nil {
		params := map[string]string{}
		for k, v := range e.query {
			params[k] = strings.Join(v, ",")
		}
		out = setField(tb, out, "rawQueryString", e.query.Encode())
		out = setField(tb, out, "queryStringParameters", params)
	}
	return out
}

// setField sets a top-level field of the JSON object doc.
func setField(tb testing.TB, doc []byte, field string, value any) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		tb.Fatal(err)
	}
	m[field] = value
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// invokeHTTP runs one API Gateway event through f and returns the HTTP
// response the function produced.
func invokeHTTP(tb testing.TB, f *lambdatest.Function, payload []byte) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Err != nil {
		tb.Fatalf("invocation failed: %v; output:\n%s", res.Err, f.Output())
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		tb.Fatalf("response %s: %v", res.Payload, err)
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body, resp.IsBase64Encoded = string(b), false
	}
	return resp
}

const alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomString(n int) string { return randomFrom(alphanumeric, n) }

func randomDigits(n int) string { return randomFrom("0123456789", n) }

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
