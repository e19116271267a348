package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
)

// atRest collects the secrets of a test that must never be found in the
// store's files: credentials, and the signatures of the signed URLs the
// API handed out (bearer URLs, which a record may keep only sealed).
type atRest struct {
	secrets []string
}

func (s *atRest) add(v ...string) {
	for _, x := range v {
		if x = strings.TrimSpace(x); len(x) >= 8 {
			s.secrets = append(s.secrets, x)
		}
	}
}

// addSAS adds a SAS token and its signature, as given, unescaped and
// escaped.
func (s *atRest) addSAS(token string) {
	s.add(token)
	if q, err := url.ParseQuery(token); err == nil {
		s.add(q.Get("sig"), url.QueryEscape(q.Get("sig")))
	}
}

// addSigned adds the signature of a signed URL (SigV4's X-Amz-Signature,
// Google's V4 X-Goog-Signature, a SAS's sig) in every form a store could
// hold it.
func (s *atRest) addSigned(t *testing.T, signed string) {
	t.Helper()
	u, err := url.Parse(signed)
	if err != nil || signed == "" {
		t.Fatalf("signed URL %q: %v", signed, err)
	}
	found := false
	for _, k := range []string{"X-Amz-Signature", "X-Goog-Signature", "sig"} {
		if v := u.Query().Get(k); v != "" {
			s.add(v, url.QueryEscape(v))
			found = true
		}
	}
	if !found {
		t.Fatalf("signed URL without a signature: %s", signed)
	}
}

// grep fails t for every secret found in a file matching pattern.
func (s *atRest) grep(t *testing.T, pattern string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("files %s: %v %v", pattern, files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range s.secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds a secret in plain text (%d chars, starts %.4s…)", filepath.Base(f), len(secret), secret)
			}
		}
	}
}

// TestNoSecretAtRestSQLite runs verifications of every provider and kind
// through the API on SQLite: bucket-verify with credentials (s3, other,
// google HMAC, azure account key; one with a wrong secret), stored configs
// of every provider and auth method (s3_compatible, aws_s3, gc_storage
// service account and HMAC, azure_blob account key and SAS token) created,
// tested, verified by bucketId and through the existing-bucket verify, and
// an admin's verify beyond a stored config. Then it greps every file of
// the store (database, write-ahead log, shared memory) for every secret
// used and every signature of a signed URL handed out.
func TestNoSecretAtRestSQLite(t *testing.T) {
	e := newVerifyEnv(t, verifyOpts{})
	az := testenv.SharedAzurite(t)
	var s atRest
	s.add(az.AccountKey)
	rememberSecret(az.AccountKey)
	member, admin := e.keys["acme/member"], e.keys["acme/admin"]
	connected := func(t *testing.T, a verifyAnswer) {
		t.Helper()
		if a.ConnectionStatus != "connected" {
			t.Fatalf("answer = %s, want connected", a.body)
		}
		if a.SignedURL != "" {
			s.addSigned(t, a.SignedURL)
		}
	}
	minioUser := func(accessKey func(testing.TB) string) (bucket, ak, sk string) {
		bucket = testenv.BucketName(t, "rest")
		e.minio.CreateBucket(t, bucket)
		seedObjects(t, func(k string, v []byte) { e.minio.PutObject(t, bucket, k, v) })
		ak, sk = testenv.NewCredentials(t)
		ak = strings.ToUpper(ak)
		if accessKey != nil {
			ak = accessKey(t)
		}
		e.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
		s.add(sk)
		rememberSecret(sk)
		return bucket, ak, sk
	}

	// bucket-verify with the request's credentials.
	b, ak, sk := minioUser(nil)
	connected(t, e.pollUntilFinal(t, "acme", member, map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk,
		"bucket": b, "endpoint": e.minio.Endpoint, "prefix": "data"}, 15*time.Second))
	connected(t, e.pollUntilFinal(t, "acme", member, map[string]any{"accessKey": ak, "secretKey": sk, "bucket": b, "prefix": "data/"}, 15*time.Second))
	_, wrong := testenv.NewCredentials(t)
	s.add(wrong)
	rememberSecret(wrong)
	if a := e.pollUntilFinal(t, "acme", member, map[string]any{"accessKey": ak, "secretKey": wrong, "bucket": b}, 15*time.Second); a.ConnectionStatus != "error" {
		t.Fatalf("wrong secret: %s", a.body)
	}
	gb, gak, gsk := minioUser(anyblobtest.HMACAccessID)
	connected(t, e.pollUntilFinal(t, "acme", member, map[string]any{"storageProvider": "google", "accessKey": gak, "secretKey": gsk,
		"bucket": gb, "prefix": "data"}, 15*time.Second))
	container := testenv.ContainerName(t, "rest")
	az.CreateContainer(t, container)
	seedObjects(t, func(k string, v []byte) { az.PutBlob(t, container, k, v) })
	connected(t, e.pollUntilFinal(t, "acme", member, map[string]any{"storageProvider": "azure", "accessKey": az.AccountName,
		"secretKey": az.AccountKey, "bucket": container, "endpoint": az.Endpoint(), "prefix": "data/"}, 15*time.Second))

	// Stored configs of every provider and auth method.
	cb, cak, csk := minioUser(nil)
	ab, aak, ask := minioUser(nil)
	hb, hid, hsecret := minioUser(anyblobtest.HMACAccessID)
	gcsBucket := testenv.BucketName(t, "rest")
	e.gcs.CreateBucket(t, gcsBucket)
	e.gcs.PutObject(t, gcsBucket, "data/img-1.jpg", []byte("jpeg"))
	sa := anyblobtest.ServiceAccountJSON(t, nil)
	rememberSecret(sa)
	s.add(sa)
	s.add(anyblobtest.PrivateKeyLines(t, sa)...)
	sasContainer := testenv.ContainerName(t, "sas")
	az.CreateContainer(t, sasContainer)
	seedObjects(t, func(k string, v []byte) { az.PutBlob(t, sasContainer, k, v) })
	token := az.SASToken(t, sasContainer, "racwdl", time.Now().Add(time.Hour))
	rememberSAS(token)
	s.addSAS(token)
	sasBody := azureBody(az, sasContainer)
	delete(sasBody, "azure_account_key")
	sasBody["azure_sas_token"] = token
	awsConfig := awsBody(ab, aak, ask, e.minio.Region)
	awsConfig["s3_bucket_prefix"] = "data/"
	configs := map[string]map[string]any{
		"s3_compatible":              e.compatBody(cb, cak, csk),
		"aws_s3":                     awsConfig,
		"gc_storage service account": gcsBody(gcsBucket, sa),
		"gc_storage hmac": {"name": "GCS HMAC", "provider": "gc_storage", "gc_storage_bucket_name": hb, "gc_storage_prefix": "data",
			"gc_storage_auth_method": "hmac", "gc_storage_hmac_access_id": hid, "gc_storage_hmac_secret": hsecret},
		"azure_blob account key": azureBody(az, container),
		"azure_blob SAS token":   sasBody,
	}
	for name, body := range configs {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", base, admin, body)
			wantStatus(t, r, http.StatusCreated)
			created := r.json(t)
			uid, id := created["uid"].(string), int64(created["id"].(float64))
			wantStatus(t, e.do("POST", base+uid+"/test/", member, nil), http.StatusOK)
			connected(t, e.pollUntilFinal(t, "acme", member, map[string]any{"bucketId": id}, 15*time.Second))
			path := "/v1/api/organizations/acme/buckets/" + strconv.FormatInt(id, 10) + "/verify"
			for end := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				a := e.post2(path, member, map[string]any{"prefix": "data/train"})
				if a.ConnectionStatus != "connecting" || time.Now().After(end) {
					connected(t, a)
					break
				}
			}
		})
	}
	// An admin's verify beyond a stored config (its grant is sealed too).
	r := e.do("POST", base, admin, e.compatBody(b, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	connected(t, e.pollUntilFinal(t, "acme", admin, map[string]any{"bucketId": r.json(t)["uid"], "prefix": "elsewhere"}, 15*time.Second))

	s.grep(t, filepath.Join(e.dir, "bucketlink.db*"))
}

// post2 sends a bucket-verify request to path (the existing-bucket
// verify) and decodes the answer.
func (e *verifyEnv) post2(path, key string, body any) verifyAnswer {
	e.t.Helper()
	r := e.do("POST", path, key, body)
	a := verifyAnswer{status: r.Status, body: string(r.Body)}
	if err := json.Unmarshal(r.Body, &a); err != nil {
		e.t.Fatalf("answer %d is not JSON: %s", r.Status, r.Body)
	}
	return a
}
