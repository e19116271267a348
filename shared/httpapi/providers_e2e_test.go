package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/errcode"
)

// s3OnlyFields and the others are the response fields of one provider,
// null for the others (s3_is_accelerated is not among them: the spec types
// it as a boolean, false for all but aws_s3; see wire_types_test.go).
var (
	s3OnlyFields = []string{"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_auth_method",
		"s3_role_arn", "s3_endpoint_url", "s3_use_path_style", "s3_cloudfront_domain", "s3_cloudfront_public_key_id"}
	gcsOnlyFields   = []string{"gc_storage_bucket_name", "gc_storage_prefix", "gc_storage_auth_method"}
	azureOnlyFields = []string{"azure_account_name", "azure_container_name", "azure_prefix", "azure_endpoint_url"}
)

// serviceAccount returns a fresh service-account key, remembered (with
// its private key's lines, which a JSON-escaped leak would show) for the
// leak check.
func serviceAccount(t testing.TB) string {
	key := anyblobtest.ServiceAccountJSON(t, nil)
	rememberSecret(key)
	for _, l := range anyblobtest.PrivateKeyLines(t, key) {
		rememberSecret(l)
	}
	return key
}

// rememberSAS remembers a SAS token and its signature, as given and
// unescaped.
func rememberSAS(token string) {
	rememberSecret(token)
	if q, err := url.ParseQuery(token); err == nil {
		rememberSecret(q.Get("sig"))
		rememberSecret(url.QueryEscape(q.Get("sig")))
	}
}

// gcsBody is a create request for a gc_storage config with a
// service-account key (the harness sends its traffic to fake-gcs-server).
func gcsBody(bucket, key string) map[string]any {
	return map[string]any{
		"name": "GCS " + bucket, "provider": "gc_storage", "gc_storage_bucket_name": bucket,
		"gc_storage_prefix": "data", "gc_storage_auth_json_content": key,
	}
}

// azureBody is a create request for an azure_blob config on Azurite with
// its account key.
func azureBody(a *testenv.Azurite, container string) map[string]any {
	rememberSecret(a.AccountKey)
	return map[string]any{
		"name": "Azure " + container, "provider": "azure_blob", "azure_account_name": a.AccountName,
		"azure_container_name": container, "azure_prefix": "data/", "azure_endpoint_url": a.Endpoint(),
		"azure_account_key": a.AccountKey,
	}
}

// wantShape checks that a config has the provider's fields set as want
// says, the other providers' fields null, and no credential.
func wantShape(t *testing.T, r response, want map[string]any, nulls ...[]string) {
	t.Helper()
	c := r.json(t)
	for _, f := range documentedFields {
		if _, ok := c[f]; !ok {
			t.Errorf("response lacks documented field %s", f)
		}
	}
	for f, v := range want {
		if c[f] != v {
			t.Errorf("%s = %v, want %v; body %s", f, c[f], v, r.Body)
		}
	}
	for _, fs := range nulls {
		for _, f := range fs {
			if v, ok := c[f]; !ok || v != nil {
				t.Errorf("%s = %v (present %v), want null", f, v, ok)
			}
		}
	}
	for _, f := range []string{"gc_storage_auth_json_content", "gc_storage_hmac_access_id", "gc_storage_hmac_secret",
		"azure_account_key", "azure_sas_token", "s3_access_key_id", "s3_secret_access_key"} {
		if _, ok := c[f]; ok {
			t.Errorf("response has credential field %s", f)
		}
	}
}

// testConfig re-tests uid and returns the decoded answer.
func testConfig(t *testing.T, e *env, uid string) (verified bool, errs map[string][]string, codes []string) {
	t.Helper()
	r := e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil)
	wantStatus(t, r, http.StatusOK)
	var tr struct {
		Verified bool                `json:"verified"`
		Errors   map[string][]string `json:"errors"`
		Checks   []struct{ Code string }
	}
	if err := json.Unmarshal(r.Body, &tr); err != nil || len(tr.Checks) != 4 {
		t.Fatalf("test answer = %s", r.Body)
	}
	for _, c := range tr.Checks {
		codes = append(codes, c.Code)
	}
	return tr.Verified, tr.Errors, codes
}

// getDelete reads uid back with want, deletes it and checks it is gone.
func getDelete(t *testing.T, e *env, uid string, want map[string]any) {
	t.Helper()
	admin := e.keys["acme/admin"]
	r := e.do("GET", base+uid+"/", e.keys["acme/viewer"], nil)
	wantStatus(t, r, http.StatusOK)
	wantShape(t, r, want)
	wantStatus(t, e.do("DELETE", base+uid+"/", admin, nil), http.StatusNoContent)
	wantDetail(t, e.do("GET", base+uid+"/", admin, nil), http.StatusNotFound, "Not found.")
	if _, err := e.store.GetConfig(context.Background(), uid); !errors.Is(err, errcode.ErrNotFound) {
		t.Errorf("store still has the config: %v", err)
	}
}

func TestCreateGetTestDeleteGCS(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	bucket := testenv.BucketName(t, "gcs")
	e.gcs.CreateBucket(t, bucket)
	e.gcs.PutObject(t, bucket, "data/img-1.jpg", []byte("jpeg"))
	key := serviceAccount(t)

	r := e.do("POST", base, admin, gcsBody(bucket, key))
	wantStatus(t, r, http.StatusCreated)
	want := map[string]any{"provider": "gc_storage", "gc_storage_bucket_name": bucket, "gc_storage_prefix": "data/",
		"gc_storage_auth_method": "service_account", "is_verified": true}
	wantShape(t, r, want, s3OnlyFields, azureOnlyFields)
	uid := r.json(t)["uid"].(string)
	// The probe was written under the prefix and removed again.
	if _, err := e.gcs.GetObject(t, bucket, "data/img-1.jpg"); err != nil {
		t.Errorf("seeded object: %v", err)
	}

	verified, errs, codes := testConfig(t, e, uid)
	if !verified || errs != nil || strings.Join(codes, ",") != "ok,ok,ok,ok" {
		t.Fatalf("test = %v %v %v", verified, errs, codes)
	}
	getDelete(t, e, uid, want)
}

func TestCreateGCSFailures(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	admin := e.keys["acme/admin"]
	bucket := testenv.BucketName(t, "gcs")
	e.gcs.CreateBucket(t, bucket)
	key := serviceAccount(t)
	ak, sk := testenv.NewCredentials(t)
	rememberSecret(sk)
	_, hmacSecret := testenv.NewCredentials(t)
	rememberSecret(hmacSecret)
	withEdits := func(edits map[string]any) map[string]any {
		b := gcsBody(bucket, key)
		for k, v := range edits {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	tests := []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"missing bucket", gcsBody(testenv.BucketName(t, "missing"), key),
			map[string]string{"gc_storage_bucket_name": "Bucket not found or access denied."}},
		{"invalid bucket name", withEdits(map[string]any{"gc_storage_bucket_name": "goog-data"}),
			map[string]string{"gc_storage_bucket_name": "goog"}},
		{"key of the wrong type", withEdits(map[string]any{"gc_storage_auth_json_content": anyblobtest.ServiceAccountJSON(t,
			func(f map[string]any) { f["type"] = "authorized_user" })}),
			map[string]string{"gc_storage_auth_json_content": "service_account"}},
		{"key not JSON", withEdits(map[string]any{"gc_storage_auth_json_content": "-----BEGIN PRIVATE KEY----- " + sk}),
			map[string]string{"gc_storage_auth_json_content": "not valid JSON"}},
		{"s3 keys on gc_storage", withEdits(map[string]any{"s3_access_key_id": strings.ToUpper(ak), "s3_secret_access_key": sk}),
			map[string]string{"s3_access_key_id": "does not apply to provider gc_storage", "s3_secret_access_key": "does not apply"}},
		{"hmac secret with a service account", withEdits(map[string]any{"gc_storage_hmac_secret": hmacSecret}),
			map[string]string{"gc_storage_hmac_secret": "Only used with gc_storage_auth_method \"hmac\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, e.do("POST", base, admin, tt.body), tt.want)
		})
	}
	if n := len(e.do("GET", base, admin, nil).json(t)["results"].([]any)); n != 0 {
		t.Errorf("%d configs stored after failed creates", n)
	}
}

// TestCreateGCSHMAC creates a gc_storage config with an HMAC key; the
// harness sends Google's XML API traffic to MinIO.
func TestCreateGCSHMAC(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	bucket := testenv.BucketName(t, "hmac")
	e.minio.CreateBucket(t, bucket)
	id := anyblobtest.HMACAccessID(t)
	_, secret := testenv.NewCredentials(t)
	rememberSecret(secret)
	e.minio.AddUser(t, id, secret, testenv.ReadWritePolicy(bucket))
	body := func(secret string) map[string]any {
		return map[string]any{"name": "GCS HMAC", "provider": "gc_storage", "gc_storage_bucket_name": bucket,
			"gc_storage_auth_method": "hmac", "gc_storage_hmac_access_id": id, "gc_storage_hmac_secret": secret}
	}
	_, wrong := testenv.NewCredentials(t)
	rememberSecret(wrong)
	wantFields(t, e.do("POST", base, admin, body(wrong)),
		map[string]string{"gc_storage_hmac_secret": "The HMAC secret does not match the HMAC access ID."})

	r := e.do("POST", base, admin, body(secret))
	wantStatus(t, r, http.StatusCreated)
	want := map[string]any{"provider": "gc_storage", "gc_storage_bucket_name": bucket, "gc_storage_prefix": nil,
		"gc_storage_auth_method": "hmac"}
	wantShape(t, r, want, s3OnlyFields, azureOnlyFields)
	if strings.Contains(string(r.Body), id) {
		t.Errorf("the response carries the HMAC access ID: %s", r.Body)
	}
	uid := r.json(t)["uid"].(string)
	if verified, errs, _ := testConfig(t, e, uid); !verified {
		t.Fatalf("test = %v", errs)
	}
	// Revoke the key's permissions: the test now fails on the bucket.
	e.minio.DetachUserPolicy(t, id)
	if verified, errs, codes := testConfig(t, e, uid); verified || len(errs["gc_storage_bucket_name"]) == 0 || codes[0] != "access_denied" {
		t.Fatalf("test after revocation = %v %v %v", verified, errs, codes)
	}
	getDelete(t, e, uid, want)
}

func TestCreateGetTestDeleteAzure(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "e2e")
	a.CreateContainer(t, container)
	a.PutBlob(t, container, "data/img-1.jpg", []byte("jpeg"))
	want := map[string]any{"provider": "azure_blob", "azure_account_name": a.AccountName, "azure_container_name": container,
		"azure_prefix": "data/", "azure_endpoint_url": a.Endpoint() + "/", "is_verified": true}

	for _, cred := range []string{"account key", "sas token"} {
		t.Run(cred, func(t *testing.T) {
			body := azureBody(a, container)
			if cred == "sas token" {
				token := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
				rememberSAS(token)
				delete(body, "azure_account_key")
				body["azure_sas_token"] = "?" + token
			}
			r := e.do("POST", base, admin, body)
			wantStatus(t, r, http.StatusCreated)
			wantShape(t, r, want, s3OnlyFields, gcsOnlyFields)
			uid := r.json(t)["uid"].(string)
			// The sealed credentials open again for the re-test.
			verified, errs, codes := testConfig(t, e, uid)
			if !verified || errs != nil || strings.Join(codes, ",") != "ok,ok,ok,ok" {
				t.Fatalf("test = %v %v %v", verified, errs, codes)
			}
			getDelete(t, e, uid, want)
		})
	}
}

func TestCreateAzureFailures(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	admin := e.keys["acme/admin"]
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "fail")
	a.CreateContainer(t, container)
	_, wrongKey := testenv.NewAzureAccount(t)
	rememberSecret(wrongKey)
	noWrite := a.SASToken(t, container, "rdl", time.Now().Add(time.Hour))
	expired := a.SASToken(t, container, "racwdl", time.Now().Add(-time.Hour))
	good := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	for _, s := range []string{noWrite, expired, good} {
		rememberSAS(s)
	}
	edit := func(edits map[string]any) map[string]any {
		b := azureBody(a, container)
		for k, v := range edits {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	// Refused: proves the SAS problems are found without connecting.
	refused := testenv.RefusedEndpoint(t) + "/" + a.AccountName
	tests := []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"wrong account key", edit(map[string]any{"azure_account_key": wrongKey}),
			map[string]string{"azure_account_key": "The account key was rejected by Azure."}},
		{"missing container", edit(map[string]any{"azure_container_name": testenv.ContainerName(t, "missing")}),
			map[string]string{"azure_container_name": "Container not found or access denied."}},
		{"sas lacking write", edit(map[string]any{"azure_account_key": nil, "azure_sas_token": noWrite, "azure_endpoint_url": refused}),
			map[string]string{"azure_sas_token": "lacks the write permission (w or c)"}},
		{"expired sas", edit(map[string]any{"azure_account_key": nil, "azure_sas_token": expired, "azure_endpoint_url": refused}),
			map[string]string{"azure_sas_token": "has expired"}},
		{"neither key nor sas", edit(map[string]any{"azure_account_key": nil}),
			map[string]string{"azure_account_key": "either", "azure_sas_token": "either"}},
		{"both key and sas", edit(map[string]any{"azure_sas_token": good}),
			map[string]string{"azure_account_key": "not both", "azure_sas_token": "not both"}},
		{"invalid names", edit(map[string]any{"azure_account_name": "Acme-Storage", "azure_container_name": "x"}),
			map[string]string{"azure_account_name": "lower-case", "azure_container_name": "3 to 63"}},
		{"hanging endpoint", edit(map[string]any{"azure_endpoint_url": testenv.HangingServer(t) + "/" + a.AccountName}),
			map[string]string{"azure_endpoint_url": "could not be reached"}},
		{"gcs key on azure_blob", edit(map[string]any{"gc_storage_auth_json_content": serviceAccount(t)}),
			map[string]string{"gc_storage_auth_json_content": "does not apply to provider azure_blob"}},
		{"unsupported provider", edit(map[string]any{"provider": "dropbox"}),
			map[string]string{"provider": "Unsupported provider: dropbox"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			wantFields(t, e.do("POST", base, admin, tt.body), tt.want)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, past the 3s deadline", d)
			}
		})
	}
	if n := len(e.do("GET", base, admin, nil).json(t)["results"].([]any)); n != 0 {
		t.Errorf("%d configs stored after failed creates", n)
	}
}
