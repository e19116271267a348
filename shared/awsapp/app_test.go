package awsapp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsevents"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsqueue"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsseal"
	"github.com/bucketlink/bucketlink/shared/awsapp/awssecrets"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsverify"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is what a deployment provides, with real emulators: a table in
// DynamoDB Local, a KMS key in moto and a bucket in MinIO. The SDK
// configuration comes from awsenv.Load, as in main, pointed
// at the emulators by the per-service endpoint variables.
type world struct {
	moto   *testenv.Moto
	minio  *testenv.MinIO
	awsCfg aws.Config
	cfg    awsapp.Config
	store  *dynamostore.Store
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := ctxFor(t)
	ddb, moto, minio := testenv.SharedDynamoDB(t), testenv.SharedMoto(t), testenv.SharedMinIO(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_KMS", moto.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID"+randomHex(8))
	t.Setenv("AWS_SECRET_ACCESS_KEY", randomHex(20))
	t.Setenv("AWS_REGION", "us-east-1")
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	table := testenv.TableName(t)
	client := ddb.Client(t)
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	return &world{
		moto: moto, minio: minio, awsCfg: awsCfg, store: dynamostore.New(client, table),
		cfg: awsapp.Config{
			Table: table, KMSKeyID: moto.NewKMSKey(t), AWSAccountID: "210987654321",
			AllowPrivate: true, AWSS3Endpoint: minio.Endpoint, VerifyDeadline: 10 * time.Second,
		},
	}
}

// newSecret stores value as a secret in moto and returns its ARN.
func (w *world) newSecret(t *testing.T, value string) string {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(w.moto.AWSConfig()).CreateSecret(ctxFor(t), &secretsmanager.CreateSecretInput{
		Name: aws.String("cursor-" + randomHex(6)), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the app's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNewWiresTheAPI(t *testing.T) {
	w := newWorld(t)
	ctx := ctxFor(t)
	w.cfg.CursorSecretID = w.newSecret(t, randomHex(32))
	var logs syncBuffer
	app, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	org, err := provision.CreateOrg(ctx, w.store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, w.store, "acme", identity.RoleAdmin, "ann")
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "app")
	w.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	w.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))

	do := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+"/api/v1/storage-configs/"+path, r)
		req.Header.Set("X-Avala-Api-Key", key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return v
	}
	created := do("POST", "", map[string]any{
		"name": "Data", "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": "us-east-1",
		"s3_access_key_id": ak, "s3_secret_access_key": sk,
	}, http.StatusCreated)
	uid, _ := created["uid"].(string)
	if results, _ := do("GET", "?limit=1", nil, http.StatusOK)["results"].([]any); len(results) != 1 {
		t.Errorf("list: %d results, want 1", len(results))
	}
	if v := do("POST", uid+"/test/", nil, http.StatusOK); v["verified"] != true {
		t.Errorf("test: %v", v)
	}
	info := do("GET", "setup-info/", nil, http.StatusOK)
	if info["avala_aws_account_id"] != "210987654321" || info["external_id"] != org.ExternalID {
		t.Errorf("setup-info: %v", info)
	}
	do("DELETE", uid+"/", nil, http.StatusNoContent)
	if out := logs.String(); strings.Contains(out, sk) || strings.Contains(out, key) || !strings.Contains(out, `"msg":"request"`) {
		t.Errorf("log holds a secret, or no access lines:\n%s", out)
	}
}

func TestCursorKey(t *testing.T) {
	w := newWorld(t)
	ctx := ctxFor(t)
	keyOf := func(secretID string) ([]byte, error) {
		c := w.cfg
		c.CursorSecretID = secretID
		app, err := newApp(ctx, c, w.awsCfg, awsapp.Options{Log: io.Discard})
		if err != nil {
			return nil, err
		}
		return app.Server.CursorKey, nil
	}
	shared := w.newSecret(t, randomHex(32))
	a, err := keyOf(shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyOf(shared)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || !bytes.Equal(a, b) {
		t.Errorf("two functions with the same secret have keys %x and %x", a, b)
	}
	other, err := keyOf(w.newSecret(t, randomHex(32)))
	if err != nil || bytes.Equal(a, other) {
		t.Errorf("another secret gives the same key (%v)", err)
	}
	r1, err1 := keyOf("")
	r2, err2 := keyOf("")
	if err1 != nil || err2 != nil || len(r1) != 32 || bytes.Equal(r1, r2) {
		t.Errorf("without a secret: keys %x, %x (%v, %v), want two random 32-byte keys", r1, r2, err1, err2)
	}

	short := randomHex(10)
	if _, err := keyOf(w.newSecret(t, short)); err == nil || !strings.Contains(err.Error(), "shorter than 32") || strings.Contains(err.Error(), short) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := keyOf("no-such-secret"); err == nil || !strings.Contains(err.Error(), "read cursor secret no-such-secret") {
		t.Errorf("unknown secret: %v", err)
	}
	// A function with a secret to read but wired without a reader fails at
	// init rather than running with a key no other function shares.
	c := w.cfg
	c.CursorSecretID = shared
	if _, err := awsapp.NewParts(c, w.awsCfg, awsapp.Options{Log: io.Discard}).App(ctx, awsapp.With{}); err == nil || !strings.Contains(err.Error(), "without a secret reader") {
		t.Errorf("secret without a reader: %v", err)
	}
}

// newApp wires every route of the API into one App, from the parts each
// function asks for on its own (the sealer, the verifier, the event bus
// and, when configured, the queue), so that a test reaches them all
// through one server.
func newApp(ctx context.Context, cfg awsapp.Config, awsCfg aws.Config, opts awsapp.Options) (*awsapp.App, error) {
	p := awsapp.NewParts(cfg, awsCfg, opts)
	v, err := awsverify.New(p)
	if err != nil {
		return nil, err
	}
	events, err := awsevents.New(p)
	if err != nil {
		return nil, err
	}
	with := awsapp.With{Sealer: awsseal.New(p), Secrets: awssecrets.New(p), Verifier: v, Events: events}
	if cfg.VerifyQueueURL != "" {
		if with.Queue, err = awsqueue.New(p); err != nil {
			return nil, err
		}
	}
	return p.App(ctx, with)
}

// newConsumer wires the verify-worker function as its main does.
func newConsumer(cfg awsapp.Config, awsCfg aws.Config, opts awsapp.Options) (*awsapp.Consumer, error) {
	p := awsapp.NewParts(cfg, awsCfg, opts)
	v, err := awsverify.New(p)
	if err != nil {
		return nil, err
	}
	events, err := awsevents.New(p)
	if err != nil {
		return nil, err
	}
	return awsapp.NewConsumer(p, awsseal.New(p), v, events), nil
}

// newScheduler wires the reverify-scheduler function as its main does.
func newScheduler(cfg awsapp.Config, awsCfg aws.Config, opts awsapp.Options) (*reverify.Scheduler, error) {
	p := awsapp.NewParts(cfg, awsCfg, opts)
	q, err := awsqueue.New(p)
	if err != nil {
		return nil, err
	}
	return awsapp.NewScheduler(p, q), nil
}
