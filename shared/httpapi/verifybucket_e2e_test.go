package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// seedObjects puts a few objects under data/ (one of them an info.labels
// file, in a folder) and one outside it, and returns the ones under data/
// by key.
func seedObjects(t *testing.T, put func(key string, data []byte)) map[string][]byte {
	t.Helper()
	under := map[string][]byte{
		"data/img-1.jpg":          []byte("jpeg bytes 1"),
		"data/img-22.jpg":         []byte("jpeg bytes, twenty-two"),
		"data/train/info.labels":  []byte(`{"version":1,"files":[]}`),
		"data/train/sample-3.png": []byte("png"),
	}
	for k, v := range under {
		put(k, v)
	}
	put("elsewhere/not-listed.txt", []byte("outside the prefix"))
	return under
}

// wantFilesFrom checks that every sampled file is one of objs (by its name
// and folder, whatever their split) with its size, and that the sample
// holds at least one.
func wantFilesFrom(t *testing.T, a verifyAnswer, objs map[string][]byte) {
	t.Helper()
	if a.Files == nil || len(*a.Files) == 0 {
		t.Fatalf("no files sampled: %s", a.body)
	}
	for _, f := range *a.Files {
		found := false
		for k, v := range objs {
			if strings.HasSuffix(k, f.Name) && strings.Contains(k, strings.Trim(f.FolderName, "/")) && int64(len(v)) == f.Size {
				found = true
			}
		}
		if !found {
			t.Errorf("sampled file %+v is none of the objects under the prefix", f)
		}
	}
	if a.HasInfoLabelsFile == nil || !*a.HasInfoLabelsFile {
		t.Errorf("hasInfoLabelsFile is not true with data/train/info.labels in the bucket: %s", a.body)
	}
}

// TestVerifyBucketS3Providers verifies real MinIO buckets through the
// API, for storageProvider other (endpoint in the request), s3 (the
// operator's AWS endpoint override, BUCKETLINK_AWS_S3_ENDPOINT) and google
// with HMAC keys (the operator's BUCKETLINK_GCS_HMAC_ENDPOINT pointing at
// MinIO: fake-gcs-server does not serve Google's HMAC-signed XML API, so
// MinIO stands in for it). Each: POST answers connecting, polls reach
// connected with a sample, the labels flag and a presigned PUT, and bytes
// PUT to that URL with a plain HTTP client read back from the bucket.
func TestVerifyBucketS3Providers(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	member := e.keys["acme/member"]
	tests := []struct {
		name string
		// body builds the request for a bucket and a user with ak/sk.
		body func(bucket, ak, sk string) map[string]any
		// accessKey makes the user's access key.
		accessKey func(tb testing.TB) string
		org       string // numeric id or slug
	}{
		{"other", func(bucket, ak, sk string) map[string]any {
			return map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket,
				"endpoint": e.minio.Endpoint, "prefix": "data"}
		}, nil, e.orgID("acme")},
		{"s3 by default", func(bucket, ak, sk string) map[string]any {
			return map[string]any{"accessKey": ak, "secretKey": sk, "bucket": bucket, "region": "us-east-1", "prefix": "/data/"}
		}, nil, "acme"},
		{"s3 without region", func(bucket, ak, sk string) map[string]any {
			return map[string]any{"storageProvider": "s3", "accessKey": ak, "secretKey": sk, "bucket": bucket, "prefix": "data/",
				"endpoint": ""}
		}, nil, e.orgID("acme")},
		{"google hmac", func(bucket, ak, sk string) map[string]any {
			return map[string]any{"storageProvider": "google", "accessKey": ak, "secretKey": sk, "bucket": bucket, "prefix": "data"}
		}, anyblobtest.HMACAccessID, "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := testenv.BucketName(t, "vb")
			e.minio.CreateBucket(t, bucket)
			objs := seedObjects(t, func(k string, v []byte) { e.minio.PutObject(t, bucket, k, v) })
			ak, sk := testenv.NewCredentials(t)
			ak = strings.ToUpper(ak)
			if tt.accessKey != nil {
				ak = tt.accessKey(t)
			}
			rememberSecret(sk)
			e.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
			body := tt.body(bucket, ak, sk)

			first := e.post(tt.org, "x:"+member, body)
			if first.status != http.StatusOK || !first.Success || first.ConnectionStatus != "connecting" {
				t.Fatalf("first POST = %d %s, want connecting", first.status, first.body)
			}
			wantOnly(t, first, "success", "connectionStatus", "connectionStatusSince")
			a := e.pollUntilFinal(t, tt.org, member, body, 15*time.Second)
			wantConnected(t, a, false)
			wantFilesFrom(t, a, objs)
			if strings.Contains(a.body, sk) {
				t.Fatal("the answer carries the secret key")
			}

			data := make([]byte, 64)
			_, _ = rand.Read(data)
			putSigned(t, a.SignedURL, nil, data)
			key := signedKey(t, a.SignedURL, "/"+bucket+"/")
			if !strings.HasPrefix(key, "data/") {
				t.Errorf("the signed URL is for %q, not under the prefix data/", key)
			}
			got, ok := e.minio.GetObject(t, bucket, key)
			if !ok || !bytes.Equal(got, data) {
				t.Errorf("read back %d bytes (found %v), want the %d PUT", len(got), ok, len(data))
			}
		})
	}
	if n := e.runs.Load(); n != int64(len(tests)) {
		t.Errorf("%d verification runs for %d verifications", n, len(tests))
	}
}

// TestVerifyBucketAzure verifies an Azurite container: accessKey is the
// account name, secretKey its key; the answer carries the endpoint, and
// the signed URL takes a PUT (with x-ms-blob-type) that reads back.
func TestVerifyBucketAzure(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	a := testenv.SharedAzurite(t)
	rememberSecret(a.AccountKey)
	container := testenv.ContainerName(t, "vb")
	a.CreateContainer(t, container)
	objs := seedObjects(t, func(k string, v []byte) { a.PutBlob(t, container, k, v) })
	body := map[string]any{"storageProvider": "azure", "accessKey": a.AccountName, "secretKey": a.AccountKey,
		"bucket": container, "endpoint": a.Endpoint(), "prefix": "data/"}
	member := e.keys["acme/member"]

	first := e.post("acme", member, body)
	if !first.Success || first.ConnectionStatus != "connecting" {
		t.Fatalf("first POST = %s", first.body)
	}
	ans := e.pollUntilFinal(t, "acme", member, body, 15*time.Second)
	wantConnected(t, ans, true)
	wantFilesFrom(t, ans, objs)
	if ep := strings.TrimSuffix(*ans.Endpoint, "/"); ep != a.Endpoint() {
		t.Errorf("endpoint = %q, want the account's blob endpoint %q", *ans.Endpoint, a.Endpoint())
	}
	if strings.Contains(ans.body, a.AccountKey) {
		t.Fatal("the answer carries the account key")
	}
	data := []byte("bytes through the SAS URL " + time.Now().String())
	putSigned(t, ans.SignedURL, azureblob.PresignPutHeaders(), data)
	blobName := signedKey(t, ans.SignedURL, "/"+a.AccountName+"/"+container+"/")
	if got := a.GetBlob(t, container, blobName); !bytes.Equal(got, data) {
		t.Errorf("read back %q, want %q", got, data)
	}

	// A wrong account key: error, on secretKey.
	_, wrongKey := testenv.NewAzureAccount(t)
	rememberSecret(wrongKey)
	body["secretKey"] = wrongKey
	bad := e.pollUntilFinal(t, "acme", member, body, 15*time.Second)
	if bad.ConnectionStatus != "error" || !strings.Contains(bad.ConnectionError, "secretKey") {
		t.Errorf("wrong account key: %s", bad.body)
	}
}

// TestVerifyBucketConnectionErrors checks that failing connections are
// answered as connectionStatus error, with a connectionError in the API's
// field names, and never as an HTTP error; a hanging endpoint gives up at
// the record's deadline.
func TestVerifyBucketConnectionErrors(t *testing.T) {
	const deadline = 2 * time.Second
	e := newVerifyEnv(t, verifyOpts{recordDeadline: deadline})
	member := e.keys["acme/member"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	_, wrong := testenv.NewCredentials(t)
	rememberSecret(wrong)
	other := func(edits map[string]any) map[string]any {
		b := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
		for k, v := range edits {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name string
		body map[string]any
		want string // in connectionError
	}{
		{"wrong secret", other(map[string]any{"secretKey": wrong}), "secretKey: The secret access key does not match the access key ID."},
		{"missing bucket", other(map[string]any{"bucket": testenv.BucketName(t, "missing")}), "bucket: Bucket not found or access denied."},
		{"hanging endpoint", other(map[string]any{"endpoint": testenv.HangingServer(t)}), verification.TimeoutMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			a := e.pollUntilFinal(t, "acme", member, tt.body, deadline+5*time.Second)
			if a.ConnectionStatus != "error" || !strings.Contains(a.ConnectionError, tt.want) {
				t.Fatalf("answer = %s, want error with %q", a.body, tt.want)
			}
			wantOnly(t, a, "success", "connectionStatus", "connectionError", "connectionStatusSince", "checks") // checks: additive
			if took := time.Since(start); took > deadline+3*time.Second {
				t.Errorf("took %s to give up; the deadline is %s", took, deadline)
			}
			if strings.Contains(a.body, sk) || strings.Contains(a.body, wrong) {
				t.Fatal("the answer carries a secret")
			}
		})
	}
	// The hanging run's record was written as timed out by the worker
	// (not only read so): poll it until the stored state is final.
	key := recordKeyOf(t, e, tests[2].body)
	waitStored(t, e, key, func(r *verification.Record) bool {
		return r.State == verification.StateError && r.Result.ConnectionError == verification.TimeoutMessage && len(r.Sealed) == 0
	})
}

// recordKeyOf returns the record key of the request body (of org acme),
// as the server computes it.
func recordKeyOf(t *testing.T, e *verifyEnv, body map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bucketverify.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return verification.RecordKey(e.verifyKey, e.orgs["acme"].ID, p.Request, p.SecretKey)
}

// waitStored waits until the stored record satisfies ok.
func waitStored(t *testing.T, e *verifyEnv, key string, ok func(*verification.Record) bool) *verification.Record {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := e.store.GetVerification(t.Context(), key)
		if err == nil && ok(r) {
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("stored record never got there: %+v (err %v)", r, err)
		}
	}
}

// TestVerifyBucketInvalidRequests checks the API's error convention:
// validation failures answer HTTP 200 with success false and an error
// naming the field; authentication answers 401 and 403 in the same shape;
// nothing is started.
func TestVerifyBucketInvalidRequests(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	member := e.keys["acme/member"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	valid := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
	with := func(edits map[string]any, drop ...string) map[string]any {
		b := map[string]any{}
		for k, v := range valid {
			if !slices.Contains(drop, k) {
				b[k] = v
			}
		}
		for k, v := range edits {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name string
		body any
		want string
	}{
		{"not JSON", "{nope", "The request body must be a JSON object."},
		{"empty body", "", "The request body is empty"},
		{"a JSON array", "[]", "The request body must be a JSON object."},
		{"unknown field", with(map[string]any{"sekretKey": "x"}), "sekretKey: Unknown field"},
		{"unknown provider", with(map[string]any{"storageProvider": "dropbox"}), "storageProvider: \"dropbox\" is not supported by this service; it supports \"s3\" (the default), \"google\", \"azure\" and \"other\""},
		// Newer official clients offer these two; this service serves neither.
		{"edgeimpulse provider", with(map[string]any{"storageProvider": "edgeimpulse"}), "storageProvider: \"edgeimpulse\" is not supported by this service; it supports \"s3\""},
		{"huggingface provider", with(map[string]any{"storageProvider": "huggingface"}, "secretKey"), "storageProvider: \"huggingface\" is not supported by this service; it supports \"s3\""},
		{"number for a string", with(map[string]any{"bucket": 12}), "bucket: Must be a string."},
		{"fractional bucketId", with(map[string]any{"bucketId": 1.5}), "bucketId: A bucketId is the id of a storage config of this organization: its integer id"},
		{"zero bucketId", with(map[string]any{"bucketId": 0}), "bucketId: A bucketId is a positive integer"},
		{"boolean bucketId", with(map[string]any{"bucketId": true}), "bucketId: Must be the integer id of a storage config"},
		{"malformed bucketId", with(map[string]any{"bucketId": "12a"}), "bucketId: A bucketId is the id of a storage config"},
		{"unknown integer bucketId", with(map[string]any{"bucketId": 987654321}, "secretKey"), "bucketId: No storage config with this id exists in this organization."},
		{"no secret and no bucketId", with(nil, "secretKey"), "secretKey: This field is required, unless bucketId"},
		{"no bucket", with(nil, "bucket"), "bucket: This field is required."},
		{"bad bucket name", with(map[string]any{"bucket": "Bad_Bucket"}), "bucket: Bucket names can consist only of"},
		{"other without endpoint", with(nil, "endpoint"), "endpoint: This field is required for storageProvider \"other\""},
		{"no access key", with(nil, "accessKey"), "accessKey: This field is required."},
		{"s3 with a foreign endpoint", with(map[string]any{"storageProvider": "s3", "region": "us-east-1"}), "endpoint: With storageProvider \"s3\""},
		{"bad prefix", with(map[string]any{"prefix": "a//b"}), "prefix: The prefix may not contain empty path segments"},
		{"google with an AWS key id", with(map[string]any{"storageProvider": "google"}, "endpoint"), "accessKey: A Google HMAC access ID"},
		{"unknown bucketId", with(map[string]any{"bucketId": "3f0c9a2e-8d5b-4c61-9a4e-2b7f1d0c6e58"}, "secretKey"), "bucketId: No storage config with this id exists in this organization."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post("acme", member, tt.body)
			if a.status != http.StatusOK || a.Success || !strings.Contains(a.Error, tt.want) {
				t.Fatalf("answer = %d %s, want 200, success false, error with %q", a.status, a.body, tt.want)
			}
			wantOnly(t, a, "success", "error")
			if strings.Contains(a.body, sk) {
				t.Fatal("the answer carries the secret key")
			}
		})
	}

	auth := []struct {
		name   string
		org    string
		key    string
		status int
		want   string
	}{
		{"no key", "acme", "", http.StatusUnauthorized, "Invalid API key."},
		{"malformed key", "acme", "blk_nope", http.StatusUnauthorized, "Invalid API key."},
		{"viewer", "acme", e.keys["acme/viewer"], http.StatusForbidden, "You do not have permission to perform this action."},
		{"another org by id", e.orgID("other"), member, http.StatusForbidden, "You do not have permission to perform this action."},
		{"another org by slug", "other", member, http.StatusForbidden, "You do not have permission to perform this action."},
		{"unknown org id", "987654", member, http.StatusForbidden, "You do not have permission to perform this action."},
		{"unknown slug", "nope", member, http.StatusForbidden, "You do not have permission to perform this action."},
	}
	for _, tt := range auth {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post(tt.org, tt.key, valid)
			if a.status != tt.status || a.Success || a.Error != tt.want {
				t.Fatalf("answer = %d %s, want %d %q", a.status, a.body, tt.status, tt.want)
			}
			wantOnly(t, a, "success", "error")
		})
	}
	r := e.do("GET", verifyPath("acme"), member, nil)
	if r.Status != http.StatusMethodNotAllowed || !strings.Contains(string(r.Body), `"success":false`) {
		t.Errorf("GET = %d %s, want 405 in the {success, error} shape", r.Status, r.Body)
	}
	if n := e.runs.Load(); n != 0 {
		t.Errorf("%d verification runs started by invalid requests", n)
	}
}

// TestVerifyBucketStoredCredentials verifies with bucketId: the stored
// config's credentials, the request's prefix; a bucketId of another org
// answers 403 without revealing anything of it; a request that would send
// the stored credentials elsewhere is refused.
func TestVerifyBucketStoredCredentials(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	bucket, ak, sk := e.bucketUser(rwActions...)
	objs := seedObjects(t, func(k string, v []byte) { e.minio.PutObject(t, bucket, k, v) })
	r := e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	member := e.keys["acme/member"]

	// bucketId alone: everything from the stored config.
	body := map[string]any{"bucketId": uid}
	first := e.post("acme", member, body)
	if !first.Success || first.ConnectionStatus != "connecting" {
		t.Fatalf("first POST = %s", first.body)
	}
	a := e.pollUntilFinal(t, "acme", member, body, 15*time.Second)
	wantConnected(t, a, false)
	wantFilesFrom(t, a, objs)
	// A run on the config's own credentials joins its history (the
	// worker appends it right after the record's final write, so a poll
	// may see connected first).
	var hist struct {
		Results []struct {
			Trigger  string `json:"trigger"`
			Verified bool   `json:"verified"`
		} `json:"results"`
	}
	var hr response
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		hr = e.do("GET", base+uid+"/verifications/", e.keys["acme/viewer"], nil)
		wantStatus(t, hr, http.StatusOK)
		if err := json.Unmarshal(hr.Body, &hist); err != nil || len(hist.Results) >= 2 || time.Now().After(end) {
			break
		}
	}
	if err := json.Unmarshal(hr.Body, &hist); err != nil || len(hist.Results) < 2 ||
		hist.Results[0].Trigger != "verify" || !hist.Results[0].Verified || hist.Results[len(hist.Results)-1].Trigger != "create" {
		t.Errorf("history after a bucketId verify = %s", hr.Body)
	}

	// The client's full form without the secret: same answer.
	full := map[string]any{"storageProvider": "other", "accessKey": ak, "bucketId": uid, "bucket": bucket,
		"endpoint": e.minio.Endpoint + "/", "prefix": "data/"}
	wantConnected(t, e.pollUntilFinal(t, "acme", member, full, 15*time.Second), false)

	// An access key that is not the stored one: error.
	wrongAK := map[string]any{"bucketId": uid, "accessKey": "SOMEONEELSE123456"}
	got := e.pollUntilFinal(t, "acme", member, wrongAK, 15*time.Second)
	if got.ConnectionStatus != "error" || !strings.Contains(got.ConnectionError, "accessKey: Is not the access key") {
		t.Errorf("another accessKey = %s", got.body)
	}

	// Stored credentials never go to another endpoint or provider.
	for name, edits := range map[string]map[string]any{
		"endpoint": {"endpoint": testenv.HangingServer(t)},
		"provider": {"storageProvider": "s3"},
	} {
		b := map[string]any{"bucketId": uid}
		for k, v := range edits {
			b[k] = v
		}
		a := e.post("acme", member, b)
		if a.status != http.StatusOK || a.Success || !strings.Contains(a.Error, "bucketId names") {
			t.Errorf("another %s with stored credentials = %d %s", name, a.status, a.body)
		}
	}

	// secretKey overrides: the request's credentials are verified.
	_, wrong := testenv.NewCredentials(t)
	rememberSecret(wrong)
	override := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": wrong, "bucketId": uid,
		"bucket": bucket, "endpoint": e.minio.Endpoint}
	got = e.pollUntilFinal(t, "acme", member, override, 15*time.Second)
	if got.ConnectionStatus != "error" || !strings.Contains(got.ConnectionError, "secretKey") {
		t.Errorf("secretKey override = %s", got.body)
	}

	// Another org's member names acme's config: 403, nothing about it.
	for _, b := range []map[string]any{{"bucketId": uid}, override} {
		a := e.post("other", e.keys["other/member"], b)
		if a.status != http.StatusForbidden || a.Success || a.Error != "You do not have permission to perform this action." {
			t.Errorf("foreign bucketId = %d %s, want 403", a.status, a.body)
		}
		if strings.Contains(a.body, bucket) || strings.Contains(a.body, "MinIO") {
			t.Errorf("the 403 reveals the config: %s", a.body)
		}
		wantOnly(t, a, "success", "error")
	}
}

// TestVerifyBucketConcurrentClients has 20 clients poll the same request
// at once, from the first POST on: exactly one verification runs, and all
// see it connect.
func TestVerifyBucketConcurrentClients(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
	member := e.keys["acme/member"]
	const clients = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]string, clients)
	for i := range clients {
		wg.Go(func() {
			<-start
			for range 400 {
				r := e.do("POST", verifyPath(e.orgID("acme")), member, body)
				if r.Status != http.StatusOK {
					results[i] = "status " + strconv.Itoa(r.Status)
					return
				}
				if s := string(r.Body); !strings.Contains(s, `"connecting"`) {
					results[i] = s
					return
				}
				time.Sleep(25 * time.Millisecond)
			}
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if !strings.Contains(r, `"connectionStatus":"connected"`) {
			t.Errorf("client %d ended with %s", i, r)
		}
	}
	if n := e.runs.Load(); n != 1 {
		t.Errorf("%d verification runs for one request polled by %d clients, want 1", n, clients)
	}
}

// TestVerifyBucketWorkerDiesMidRun stops the first run after it took the
// lease, as a crash would (its context ends; nothing is written): the
// message comes back, waits for the lease to expire, takes it over and
// completes the verification as a second attempt.
func TestVerifyBucketWorkerDiesMidRun(t *testing.T) {
	const lease = 3 * time.Second
	var deliveries atomic.Int64
	started := make(chan struct{}, 1)
	e := newVerifyEnv(t, verifyOpts{
		lease:          lease,
		verifyDeadline: 2 * time.Second,
		wrapVerifier: func(v verifyworker.BucketVerifier) verifyworker.BucketVerifier {
			return stallFirst{inner: v, started: started, done: new(atomic.Bool)}
		},
		wrapHandler: func(h queue.Handler) queue.Handler {
			return func(ctx context.Context, m queue.Message) error {
				if deliveries.Add(1) > 1 {
					return h(ctx, m)
				}
				// The first delivery's worker "dies" once its run started.
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				go func() { <-started; cancel() }()
				return h(ctx, m)
			}
		},
	})
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
	member := e.keys["acme/member"]
	begin := time.Now()
	a := e.pollUntilFinal(t, "acme", member, body, 15*time.Second)
	wantConnected(t, a, false)
	if took := time.Since(begin); took < lease {
		t.Errorf("connected after %s, before the dead run's lease (%s) could expire", took, lease)
	}
	// The dead run stalled inside the wrapper; the counted one is the
	// takeover.
	if n := e.runs.Load(); n != 1 {
		t.Errorf("%d runs after the dead one, want 1 (the takeover)", n)
	}
	r := waitStored(t, e, recordKeyOf(t, e, body), func(r *verification.Record) bool { return r.State == verification.StateConnected })
	if r.Attempts != 2 || len(r.Sealed) != 0 || r.Lease.Owner != "" {
		t.Errorf("record: attempts %d (want 2), sealed %d bytes, lease %+v", r.Attempts, len(r.Sealed), r.Lease)
	}
	if deliveries.Load() < 3 {
		t.Errorf("%d deliveries; want the dead one, at least one refused while leased, and the takeover", deliveries.Load())
	}
}

// stallFirst makes the first run hang until its context ends, after
// saying it started; later runs are the real ones.
type stallFirst struct {
	inner   verifyworker.BucketVerifier
	started chan struct{}
	done    *atomic.Bool
}

func (s stallFirst) VerifyBucket(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	if s.done.Swap(true) {
		return s.inner.VerifyBucket(ctx, c, creds)
	}
	s.started <- struct{}{}
	<-ctx.Done()
	return verify.BucketResult{Result: verify.Result{Errors: map[string][]string{"non_field_errors": {"stalled"}}}}
}

// TestVerifyBucketRestartWindow: a final record answers the same request
// until verification.RestartWindow has passed; then a POST starts a new run.
func TestVerifyBucketRestartWindow(t *testing.T) {
	var offset atomic.Int64
	e := newVerifyEnv(t, verifyOpts{offset: &offset})
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket, "endpoint": e.minio.Endpoint}
	member := e.keys["acme/member"]
	first := e.pollUntilFinal(t, "acme", member, body, 15*time.Second)
	wantConnected(t, first, false)
	offset.Store(int64(verification.RestartWindow - time.Second))
	if a := e.post("acme", member, body); a.ConnectionStatus != "connected" || a.ConnectionStatusSince != first.ConnectionStatusSince {
		t.Errorf("within the window: %s", a.body)
	}
	offset.Store(int64(verification.RestartWindow + time.Second))
	if a := e.post("acme", member, body); a.ConnectionStatus != "connecting" {
		t.Errorf("after the window: %s, want a new verification", a.body)
	}
	wantConnected(t, e.pollUntilFinal(t, "acme", member, body, 15*time.Second), false)
	if n := e.runs.Load(); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
}

// TestVerifyBucketIntegerID verifies a stored config by its integer id,
// as the official edgeimpulse-api client sends bucketId (StrictInt), and
// through the existing-bucket verify (POST .../buckets/{bucketId}/verify):
// both run on the stored credentials, share one record, and answer an id
// of another org with 403 and an unknown one with a validation error.
func TestVerifyBucketIntegerID(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	bucket, ak, sk := e.bucketUser(rwActions...)
	objs := seedObjects(t, func(k string, v []byte) { e.minio.PutObject(t, bucket, k, v) })
	r := e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	created := r.json(t)
	id, ok := created["id"].(float64)
	if !ok || id <= 0 || id != float64(int64(id)) {
		t.Fatalf("create answered id %v (%T), want a positive integer", created["id"], created["id"])
	}
	member := e.keys["acme/member"]

	body := map[string]any{"bucketId": int64(id)}
	wantConnected(t, e.pollUntilFinal(t, "acme", member, body, 15*time.Second), false)
	runs := e.runs.Load()

	// The existing-bucket verify of the same config and prefix is the same
	// verification: it reads the finished record, and starts no run.
	existing := func(org, key, ref string, b any) verifyAnswer {
		t.Helper()
		resp := e.do("POST", "/v1/api/organizations/"+org+"/buckets/"+ref+"/verify", key, b)
		var a verifyAnswer
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			t.Fatalf("existing-bucket verify answer %s: %v", resp.Body, err)
		}
		a.status, a.body = resp.Status, string(resp.Body)
		return a
	}
	ref := strconv.FormatInt(int64(id), 10)
	a := existing("acme", member, ref, map[string]any{"prefix": ""})
	wantConnected(t, a, false)
	wantFilesFrom(t, a, objs)
	if n := e.runs.Load(); n != runs {
		t.Errorf("the existing-bucket verify of the same config started %d runs, want none", n-runs)
	}
	// A narrower prefix is a verification of its own; by uid too.
	for _, r := range []string{ref, created["uid"].(string)} {
		for end := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			a = existing(e.orgID("acme"), member, r, map[string]any{"prefix": "data/train"})
			if a.ConnectionStatus != "connecting" || time.Now().After(end) {
				break
			}
		}
		wantConnected(t, a, false)
	}

	bad := []struct {
		name, org, ref string
		body           any
		status         int
		want           string
	}{
		{"no prefix", "acme", ref, map[string]any{}, http.StatusOK, "prefix: This field is required"},
		{"null prefix", "acme", ref, map[string]any{"prefix": nil}, http.StatusOK, "prefix: This field is required"},
		{"prefix outside the config's", "acme", ref, map[string]any{"prefix": "elsewhere/"}, http.StatusOK, "prefix: Must lie inside the storage config's prefix \"data/\""},
		{"a field of the other endpoint", "acme", ref, map[string]any{"prefix": "", "bucket": "other"}, http.StatusOK, "bucket: Unknown field"},
		{"unknown id", "acme", "987654321", map[string]any{"prefix": ""}, http.StatusOK, "bucketId: No storage config with this id exists"},
		{"malformed id", "acme", "12a", map[string]any{"prefix": ""}, http.StatusOK, "bucketId: A bucketId is the id of a storage config"},
		{"another org's id", "other", ref, map[string]any{"prefix": ""}, http.StatusForbidden, "You do not have permission to perform this action."},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			key := member
			if tt.org == "other" {
				key = e.keys["other/member"]
			}
			a := existing(tt.org, key, tt.ref, tt.body)
			if a.status != tt.status || a.Success || !strings.Contains(a.Error, tt.want) {
				t.Fatalf("answer = %d %s, want %d, success false, error with %q", a.status, a.body, tt.status, tt.want)
			}
			wantOnly(t, a, "success", "error")
			if strings.Contains(a.body, bucket) {
				t.Errorf("the answer names the bucket: %s", a.body)
			}
		})
	}
	// An integer id of another org in the verify body: 403 as well.
	if a := e.post("other", e.keys["other/member"], body); a.status != http.StatusForbidden || a.Success {
		t.Errorf("another org's integer bucketId = %d %s, want 403", a.status, a.body)
	}
}

// TestVerifyBucketStoredSASNeverLeaves verifies a stored azure_blob config
// whose only credential is a SAS token, by bucketId as a member and
// through the existing-bucket verify: the answer is connected, but has no
// signedUrl (it would carry the stored token, which is write-only) and
// says why; neither the answer nor the record holds the token.
func TestVerifyBucketStoredSASNeverLeaves(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "sas")
	a.CreateContainer(t, container)
	seedObjects(t, func(k string, v []byte) { a.PutBlob(t, container, k, v) })
	token := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	rememberSAS(token)
	body := azureBody(a, container)
	delete(body, "azure_account_key")
	body["azure_sas_token"] = token
	r := e.do("POST", base, e.keys["acme/admin"], body)
	wantStatus(t, r, http.StatusCreated)
	created := r.json(t)
	id := strconv.FormatInt(int64(created["id"].(float64)), 10)
	sig := ""
	for _, kv := range strings.Split(token, "&") {
		if v, ok := strings.CutPrefix(kv, "sig="); ok {
			sig = v
		}
	}
	if sig == "" {
		t.Fatalf("the test token has no signature: %s", token)
	}
	member := e.keys["acme/member"]
	for _, req := range []struct {
		name, path string
		body       any
	}{
		{"bucketId", verifyPath("acme"), map[string]any{"bucketId": created["id"]}},
		{"existing-bucket verify", "/v1/api/organizations/acme/buckets/" + id + "/verify", map[string]any{"prefix": "data/train/"}},
	} {
		t.Run(req.name, func(t *testing.T) {
			var raw string
			var a struct {
				Success              bool
				ConnectionStatus     string
				SignedURL            *string `json:"signedUrl"`
				SignedURLUnavailable string  `json:"signedUrlUnavailable"`
			}
			for end := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				resp := e.do("POST", req.path, member, req.body)
				raw = string(resp.Body)
				if err := json.Unmarshal(resp.Body, &a); err != nil {
					t.Fatalf("answer %s: %v", raw, err)
				}
				if a.ConnectionStatus != "connecting" || time.Now().After(end) {
					break
				}
			}
			if !a.Success || a.ConnectionStatus != "connected" || a.SignedURL != nil || a.SignedURLUnavailable != azure.NoSignedURLForSAS {
				t.Fatalf("answer = %s; want connected, no signedUrl, and why", raw)
			}
			if strings.Contains(raw, sig) || strings.Contains(raw, "sig=") {
				t.Fatalf("the answer carries the SAS signature: %s", raw)
			}
		})
	}
	// No file of the store (database, write-ahead log) holds the
	// signature in plain text: the config's copy is sealed, and the
	// verification records hold none.
	files, err := filepath.Glob(filepath.Join(e.dir, "bucketlink.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("store files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(sig)) {
			t.Errorf("%s holds the SAS signature in plain text", f)
		}
	}
}
