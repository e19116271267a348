package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/service"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/verifier"
)

// TestConfigsLocal runs the configs commands and reverify against the
// data directory of a running `bucketlink serve`, on a config created
// through its API with a MinIO user: list and get print the API's shapes
// (golden files) and no secret; test passes, then fails on write once the
// user loses s3:PutObject (exit 1), which is stored in the history and
// published; reverify --now restores it (trigger schedule); delete removes
// it, and get then cannot run (exit 2).
func TestConfigsLocal(t *testing.T) {
	m := testenv.StartMinIO(t)
	t.Setenv("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "true")
	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/api/v1/storage-configs/", key: strings.TrimSpace(string(key))}

	bucket := testenv.BucketName(t, "configs")
	m.CreateBucket(t, bucket)
	m.PutObject(t, bucket, "data/a.txt", []byte("hello"))
	ak, sk := testenv.NewCredentials(t)
	m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	var created struct{ UID string }
	c.do("POST", "", map[string]any{
		"name": "MinIO", "provider": "s3_compatible", "s3_endpoint_url": m.Endpoint,
		"s3_bucket_name": bucket, "s3_bucket_prefix": "data", "s3_access_key_id": ak, "s3_secret_access_key": sk,
		"reverify_interval_seconds": 900,
	}, http.StatusCreated, &created)
	uid := created.UID
	norm := normalizer{bucket, "<bucket>", m.Endpoint, "<endpoint>", ak, "<access-key>"}
	cmd := func(want int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := command(t, "", append(args, "--data", data)...)
		if code != want {
			t.Fatalf("bucketlink %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, sk) {
			t.Fatalf("bucketlink %v printed the secret", args)
		}
		return stdout, stderr
	}

	out, _ := cmd(0, "configs", "list")
	golden(t, "configs_list", norm.apply(out))
	out, _ = cmd(0, "configs", "list", "--json")
	golden(t, "configs_list_json", norm.apply(out))
	out, _ = cmd(0, "configs", "get", uid)
	golden(t, "configs_get", norm.apply(out))

	out, _ = cmd(0, "configs", "test", uid)
	golden(t, "configs_test_pass", norm.apply(out))

	m.SetUserPolicy(t, ak, testenv.PolicyFor(bucket, "s3:GetObject", "s3:DeleteObject"))
	out, errOut := cmd(1, "configs", "test", uid, "--json")
	golden(t, "configs_test_no_write_json", norm.apply(out))
	if !strings.Contains(errOut, changeevents.DetailType) || !strings.Contains(errOut, uid) {
		t.Errorf("the flip to unverified was not published:\n%s", errOut)
	}
	var got struct {
		IsVerified bool `json:"is_verified"`
	}
	c.do("GET", uid+"/", nil, http.StatusOK, &got)
	if got.IsVerified {
		t.Error("the API still reads is_verified true after a failed configs test")
	}

	m.SetUserPolicy(t, ak, testenv.ReadWritePolicy(bucket))
	out, errOut = cmd(0, "reverify", "--now", uid)
	golden(t, "reverify_now", norm.apply(out))
	if !strings.Contains(errOut, `"trigger":"schedule"`) {
		t.Errorf("the flip back was not published as the scheduler's:\n%s", errOut)
	}
	var hist struct {
		Results []struct {
			Trigger  string
			Verified bool
		}
	}
	c.do("GET", uid+"/verifications/", nil, http.StatusOK, &hist)
	var triggers []string
	for _, h := range hist.Results {
		triggers = append(triggers, h.Trigger)
	}
	if strings.Join(triggers, ",") != "schedule,test,test,create" {
		t.Errorf("history triggers (newest first) = %v", triggers)
	}

	cmd(2, "reverify", uid) // without --now
	out, _ = cmd(0, "configs", "delete", uid)
	golden(t, "configs_delete", norm.apply(out))
	c.do("GET", uid+"/", nil, http.StatusNotFound, nil)
	_, errOut = cmd(2, "configs", "get", uid)
	if !strings.Contains(errOut, "no config "+uid) {
		t.Errorf("get of a deleted config: %s", errOut)
	}
	cmd(2, "configs", "get", "not-a-uid")
	cmd(2, "configs", "list", "--org", "nobody")
}

// TestConfigsDynamoDB runs the configs commands against a deployed
// stack's table (DynamoDB Local) and KMS key (moto), on a config the API's
// create handler stored there with a MinIO user's keys.
func TestConfigsDynamoDB(t *testing.T) {
	ctx := context.Background()
	d := testenv.StartDynamoDB(t)
	moto := testenv.StartMoto(t)
	m := testenv.StartMinIO(t)
	table := testenv.TableName(t)
	ddb := d.Client(t)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(ddb, table)
	if _, err := provision.CreateOrg(ctx, st, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, st, "acme", identity.RoleAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	kmsKey := moto.NewKMSKey(t)
	v, err := verifier.New(aws.Config{}, st, verifier.Options{AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	api := service.Parts{Store: st, Sealer: kmsseal.New(kms.NewFromConfig(moto.AWSConfig()), kmsKey), Verifier: v,
		CursorKey: randomKey()}.API()
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL + "/api/v1/storage-configs/", key: key}

	bucket := testenv.BucketName(t, "ddb")
	m.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	m.AddUser(t, ak, sk, testenv.PolicyFor(bucket, "s3:GetObject", "s3:DeleteObject"))
	var created struct{ UID string }
	m.SetUserPolicy(t, ak, testenv.ReadWritePolicy(bucket))
	c.do("POST", "", map[string]any{
		"name": "On the table", "provider": "s3_compatible", "s3_endpoint_url": m.Endpoint,
		"s3_bucket_name": bucket, "s3_access_key_id": ak, "s3_secret_access_key": sk,
	}, http.StatusCreated, &created)
	m.SetUserPolicy(t, ak, testenv.PolicyFor(bucket, "s3:GetObject", "s3:DeleteObject"))

	creds, err := d.AWSConfig().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": d.Endpoint, "AWS_ENDPOINT_URL_KMS": moto.Endpoint, "AWS_REGION": d.Region,
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey,
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS": "true",
	} {
		t.Setenv(k, v)
	}
	cmd := func(want int, args ...string) string {
		t.Helper()
		stdout, stderr, code := command(t, "", append(args, "--store", "dynamodb", "--table", table)...)
		if code != want {
			t.Fatalf("bucketlink %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, sk) {
			t.Fatalf("bucketlink %v printed the secret", args)
		}
		return stdout
	}
	out := cmd(0, "configs", "list", "--org", "acme", "--json")
	var list struct{ Results []struct{ UID string } }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Results) != 1 || list.Results[0].UID != created.UID {
		t.Fatalf("list on the table: %s (%v)", out, err)
	}
	cmd(2, "configs", "test", created.UID) // no --kms-key
	out = cmd(1, "configs", "test", created.UID, "--kms-key", kmsKey)
	if got := failedChecks(t, out); strings.Join(got, ",") != "write" {
		t.Errorf("configs test on the table failed %v, want write:\n%s", got, out)
	}
	cmd(0, "configs", "delete", created.UID)
	cmd(2, "configs", "get", created.UID)
}
