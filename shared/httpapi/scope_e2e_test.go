package httpapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestVerifyBucketStoredScopeByRole verifies a stored config (bucket B,
// prefix data/) by bucketId, with credentials whose policy also reaches a
// second bucket W. A member gets the config as stored, or a narrower
// prefix; every attempt to go beyond it (another bucket, region or
// endpoint, a prefix outside data/) answers success:false on that field,
// saying an admin may, and starts nothing. An admin may go beyond it
// (verify before update). Signed URLs stay under the prefix verified.
func TestVerifyBucketStoredScopeByRole(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	bucket, wide := testenv.BucketName(t, "scope"), testenv.BucketName(t, "wide")
	e.minio.CreateBucket(t, bucket)
	e.minio.CreateBucket(t, wide)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	rememberSecret(sk)
	e.minio.AddUser(t, ak, sk, testenv.Policy(
		testenv.PolicyStatement{Actions: []string{"s3:ListBucket"}, Resources: []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + wide}},
		testenv.PolicyStatement{Actions: rwActions, Resources: []string{"arn:aws:s3:::" + bucket + "/*", "arn:aws:s3:::" + wide + "/*"}},
	))
	objs := seedObjects(t, func(k string, v []byte) { e.minio.PutObject(t, bucket, k, v) })
	e.minio.PutObject(t, wide, "elsewhere/secret-plans.txt", []byte("not for members"))
	r := e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	created := r.json(t)
	id, uid := int64(created["id"].(float64)), created["uid"].(string)
	member, admin := e.keys["acme/member"], e.keys["acme/admin"]

	t.Run("member beyond the config", func(t *testing.T) {
		runs := e.runs.Load()
		for _, tt := range []struct {
			name string
			body map[string]any
			want string
		}{
			{"another bucket", map[string]any{"bucketId": id, "bucket": wide}, "bucket: Is not the bucket of the storage config bucketId names."},
			{"a prefix outside", map[string]any{"bucketId": id, "prefix": "elsewhere/"}, "prefix: Must lie inside the storage config's prefix \"data/\""},
			{"a sibling prefix", map[string]any{"bucketId": id, "prefix": "data-other/"}, "prefix: Must lie inside"},
			{"another region", map[string]any{"bucketId": id, "region": "eu-west-1"}, "region: Is not the region of the storage config bucketId names."},
			{"another endpoint", map[string]any{"bucketId": uid, "endpoint": "https://s3.example.com"}, "endpoint: Is not the endpoint of the storage config bucketId names."},
			{"another bucket, full form", map[string]any{"storageProvider": "other", "accessKey": ak, "bucketId": id, "bucket": wide,
				"endpoint": e.minio.Endpoint, "prefix": "elsewhere"}, "bucket: Is not the bucket"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				a := e.post("acme", member, tt.body)
				if a.status != http.StatusOK || a.Success || !strings.Contains(a.Error, tt.want) ||
					!strings.Contains(a.Error, "Only an admin (a role that may edit the config) may verify its stored credentials there") {
					t.Fatalf("answer = %d %s; want success false, %q, and that an admin may", a.status, a.body, tt.want)
				}
				wantOnly(t, a, "success", "error")
			})
		}
		if n := e.runs.Load(); n != runs {
			t.Errorf("a member's attempts beyond the config ran %d verifications", n-runs)
		}
	})

	t.Run("member narrows", func(t *testing.T) {
		a := e.pollUntilFinal(t, "acme", member, map[string]any{"bucketId": id, "prefix": "data/train"}, 15*time.Second)
		wantConnected(t, a, false)
		for _, f := range *a.Files {
			if f.Name != "info.labels" && f.Name != "sample-3.png" {
				t.Errorf("a file outside data/train/ was sampled: %+v", f)
			}
		}
		wantFilesFrom(t, a, objs)
		if key := signedKey(t, a.SignedURL, "/"+bucket+"/"); !strings.HasPrefix(key, "data/train/"+verify.CORSTestMarker) {
			t.Errorf("the signed URL's key %q is not under the verified prefix data/train/", key)
		}
	})

	adminBody := map[string]any{"bucketId": id, "bucket": wide, "prefix": "elsewhere"}
	t.Run("admin goes beyond the config", func(t *testing.T) {
		// The create and the member's narrower run are in the config's
		// history (the worker appends right after its final write).
		const before = 2
		for end := time.Now().Add(5 * time.Second); historyLen(t, e, uid) != before; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("history has %d entries, want the create and the member's run", historyLen(t, e, uid))
			}
		}
		a := e.pollUntilFinal(t, "acme", admin, adminBody, 15*time.Second)
		// A run beyond the config is not the config's: its history is
		// unchanged.
		time.Sleep(300 * time.Millisecond)
		if n := historyLen(t, e, uid); n != before {
			t.Errorf("the config's history went from %d to %d entries after a run on another bucket", before, n)
		}
		wantConnected(t, a, false)
		if len(*a.Files) != 1 || (*a.Files)[0].Name != "secret-plans.txt" {
			t.Errorf("files = %+v, want the one under %s/elsewhere/", *a.Files, wide)
		}
		if key := signedKey(t, a.SignedURL, "/"+wide+"/"); !strings.HasPrefix(key, "elsewhere/"+verify.CORSTestMarker) {
			t.Errorf("the signed URL's key %q is not under the verified prefix elsewhere/", key)
		}
		// The same body from a member, while the admin's record stands:
		// refused before the record is read.
		if m := e.post("acme", member, adminBody); m.Success || !strings.Contains(m.Error, "bucket: Is not the bucket") {
			t.Errorf("a member posting the admin's body = %s", m.body)
		}
	})

	t.Run("existing-bucket verify stays inside for everyone", func(t *testing.T) {
		for _, key := range []string{member, admin} {
			resp := e.do("POST", "/v1/api/organizations/acme/buckets/"+strconv.FormatInt(id, 10)+"/verify", key, map[string]any{"prefix": "elsewhere/"})
			if !strings.Contains(string(resp.Body), "prefix: Must lie inside the storage config's prefix") {
				t.Errorf("existing-bucket verify outside the prefix = %s", resp.Body)
			}
		}
	})

	// A record that asks for another bucket without the sealed grant of a
	// role that may edit the config (as no handler writes it): the worker
	// refuses it rather than widen.
	t.Run("the worker does not widen", func(t *testing.T) {
		runs := e.runs.Load()
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		key := hex.EncodeToString(b)
		rec := verification.NewRecord(time.Now(), key, e.orgs["acme"].ID, verification.Request{BucketID: uid, Bucket: wide, Prefix: "elsewhere/"}, nil, 0)
		if err := rec.SealSignedURLTo(e.verifyKey); err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateVerification(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if err := e.worker.Handle(t.Context(), queue.Message{Kind: queue.KindVerify, Key: key, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := e.store.GetVerification(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != verification.StateError || !strings.Contains(got.Result.ConnectionError, "bucket: Is not the bucket") ||
			!strings.Contains(got.Result.ConnectionError, "prefix: Must lie inside") {
			t.Errorf("record = %s %q; want error naming bucket and prefix", got.State, got.Result.ConnectionError)
		}
		if n := e.runs.Load(); n != runs {
			t.Errorf("the worker ran the widened record (%d runs)", n-runs)
		}
	})
}

// historyLen is the number of entries of the config's verification
// history.
func historyLen(t *testing.T, e *verifyEnv, uid string) int {
	t.Helper()
	r := e.do("GET", base+uid+"/verifications/?limit=100", e.keys["acme/viewer"], nil)
	wantStatus(t, r, http.StatusOK)
	results, _ := r.json(t)["results"].([]any)
	return len(results)
}
