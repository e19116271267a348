package awsapp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/queue"
)

func TestLoadConfigVerifyQueue(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		needs   []awsapp.Need
		wantErr []string
	}{
		{name: "not needed", changes: nil},
		{name: "needed and missing", needs: []awsapp.Need{awsapp.NeedVerifyQueue},
			wantErr: []string{awsapp.EnvVerifyQueueURL + " is required", awsapp.EnvVerifyKeySecretID + " is required"}},
		{name: "needed and set", needs: []awsapp.Need{awsapp.NeedVerifyQueue}, changes: map[string]string{
			awsapp.EnvVerifyQueueURL:    "https://sqs.us-east-1.amazonaws.com/123456789012/bucketlink-dev-VerifyQueue-X",
			awsapp.EnvVerifyKeySecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:verify-key-AbCdEf",
		}},
		{name: "not a queue URL", changes: map[string]string{awsapp.EnvVerifyQueueURL: "bucketlink-dev-VerifyQueue"},
			wantErr: []string{awsapp.EnvVerifyQueueURL + " must be a queue URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := awsapp.LoadConfig(env(tt.changes), tt.needs...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.VerifyQueueURL != tt.changes[awsapp.EnvVerifyQueueURL] || c.VerifyKeySecretID != tt.changes[awsapp.EnvVerifyKeySecretID] {
					t.Errorf("config = %+v", c)
				}
				return
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
		})
	}
}

// TestNewWiresBucketVerify checks the wiring of the bucket-verify API on
// AWS: the verify-bucket function's handler sends the verification to SQS
// (moto), the worker of NewWorker runs the message against MinIO with the
// record in DynamoDB Local sealed by moto's KMS, and the next poll answers
// connected; two functions with the same secret compute the same record
// keys.
func TestNewWiresBucketVerify(t *testing.T) {
	moto := testenv.SharedMoto(t)
	t.Setenv("AWS_ENDPOINT_URL_SQS", moto.Endpoint)
	w := newWorld(t)
	ctx := ctxFor(t)
	client := sqs.NewFromConfig(moto.AWSConfig())
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("verify-" + randomHex(4))})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.VerifyQueueURL = aws.ToString(q.QueueUrl)
	w.cfg.VerifyKeySecretID = w.newSecret(t, randomHex(32))
	var logs syncBuffer
	app, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	other, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Server.VerifyKey) != 32 || !bytes.Equal(app.Server.VerifyKey, other.Server.VerifyKey) || bytes.Equal(app.Server.VerifyKey, app.Server.CursorKey) {
		t.Fatal("the record key is not 32 bytes shared by every instance, apart from the cursor key")
	}
	consumer, err := newConsumer(w.cfg, w.awsCfg, awsapp.Options{Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	worker := consumer.Verify
	if worker.LeaseTTL != w.cfg.VerifyDeadline+awsapp.LeaseOverDeadline {
		t.Errorf("lease %s", worker.LeaseTTL)
	}
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	org, err := provision.CreateOrg(ctx, w.store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, w.store, "acme", identity.RoleMember, "ann")
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "app")
	w.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	w.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	post := func() map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"accessKey": ak, "secretKey": sk, "bucket": bucket, "region": "us-east-1"})
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/api/organizations/"+strconv.FormatInt(org.ID, 10)+"/buckets/verify", bytes.NewReader(b))
		req.Header.Set("x-api-key", key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &v) != nil {
			t.Fatalf("POST: %d %s", resp.StatusCode, raw)
		}
		return v
	}
	if v := post(); v["connectionStatus"] != "connecting" {
		t.Fatalf("first POST: %v", v)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages, want 1", err, len(out.Messages))
	}
	m, err := queue.Decode(aws.ToString(out.Messages[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if v := post(); v["connectionStatus"] != "connected" || v["signedUrl"] == "" {
		t.Errorf("after the worker: %v", v)
	}
	if out := logs.String(); strings.Contains(out, sk) || strings.Contains(out, key) {
		t.Error("the log holds a secret")
	}
}

// TestLoadConfigVerifyOrgCap reads the per-org cap of connecting
// verifications, refusing what the store cannot hold.
func TestLoadConfigVerifyOrgCap(t *testing.T) {
	c, err := awsapp.LoadConfig(env(nil))
	if err != nil || c.VerifyOrgCap != 0 {
		t.Fatalf("unset: cap %d, %v; want 0 (the handler's default)", c.VerifyOrgCap, err)
	}
	c, err = awsapp.LoadConfig(env(map[string]string{awsapp.EnvVerifyOrgCap: "25"}))
	if err != nil || c.VerifyOrgCap != 25 {
		t.Fatalf("25: cap %d, %v", c.VerifyOrgCap, err)
	}
	for _, bad := range []string{"0", "-1", "ten", "1000000"} {
		_, err := awsapp.LoadConfig(env(map[string]string{awsapp.EnvVerifyOrgCap: bad}))
		if err == nil || !strings.Contains(err.Error(), awsapp.EnvVerifyOrgCap+" must be a whole number") || strings.Contains(err.Error(), bad+" ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
