package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// guidanceAnswer is the part of setup-info's answer the tests read.
type guidanceAnswer struct {
	AccountID  string `json:"avala_aws_account_id"`
	ExternalID string `json:"external_id"`
	Guidance   struct {
		Provider   string   `json:"provider"`
		Bucket     string   `json:"bucket"`
		Prefix     string   `json:"prefix"`
		AccessMode string   `json:"access_mode"`
		Checks     []string `json:"checks"`
		AWS        *struct {
			PermissionsPolicy json.RawMessage `json:"permissions_policy"`
			TrustPolicy       *struct {
				Statement []struct {
					Principal map[string]string              `json:"Principal"`
					Condition map[string]map[string][]string `json:"Condition"`
				} `json:"Statement"`
			} `json:"trust_policy"`
		} `json:"aws"`
		GCS *struct {
			Role        string   `json:"role"`
			Permissions []string `json:"permissions"`
		} `json:"gcs"`
		Azure *struct {
			SASPermissions string `json:"sas_permissions"`
			Role           string `json:"role"`
		} `json:"azure"`
	} `json:"guidance"`
}

func setupInfo(t *testing.T, e *env, key string, q url.Values) guidanceAnswer {
	t.Helper()
	r := e.do("GET", base+"setup-info/?"+q.Encode(), key, nil)
	wantStatus(t, r, http.StatusOK)
	var a guidanceAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("setup-info: %v: %s", err, r.Body)
	}
	return a
}

// TestSetupInfoGuidanceConnects: the permissions policy setup-info gives
// for a bucket and prefix, attached to a fresh MinIO user as it is, makes
// a storage config of that bucket and prefix verify on create; the trust
// policy names the account and the org's external id.
func TestSetupInfoGuidanceConnects(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket := testenv.BucketName(t, "guide")
	e.minio.CreateBucket(t, bucket)
	e.minio.PutObject(t, bucket, "annotations/a.json", []byte(`{}`))

	a := setupInfo(t, e, e.keys["acme/viewer"], url.Values{"provider": {"aws_s3"}, "bucket": {bucket}, "prefix": {"annotations"}})
	g := a.Guidance
	if g.Provider != "aws_s3" || g.Bucket != bucket || g.Prefix != "annotations/" || g.AccessMode != "read_write" || g.AWS == nil {
		t.Fatalf("guidance %+v", g)
	}
	if a.AccountID != e.account || a.ExternalID != e.orgs["acme"].ExternalID {
		t.Errorf("documented fields changed: %+v", a)
	}
	trust := g.AWS.TrustPolicy
	if trust == nil || len(trust.Statement) != 1 || trust.Statement[0].Principal["AWS"] != "arn:aws:iam::"+e.account+":root" ||
		trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"][0] != e.orgs["acme"].ExternalID {
		t.Errorf("trust policy %+v", trust)
	}

	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	e.minio.AddUser(t, ak, sk, string(g.AWS.PermissionsPolicy))
	rememberSecret(sk)
	r := e.do("POST", base, e.keys["acme/admin"], awsBody(bucket, ak, sk, testenv.MinIORegion))
	wantStatus(t, r, http.StatusCreated)
	if c := r.json(t); c["is_verified"] != true {
		t.Errorf("created with the guidance's policy: %s", r.Body)
	}
}

func TestSetupInfoGuidanceProviders(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	viewer := e.keys["acme/viewer"]
	gcs := setupInfo(t, e, viewer, url.Values{"provider": {"gc_storage"}, "bucket": {"acme_data.v1"}, "access_mode": {"read_only"}}).Guidance
	if gcs.GCS == nil || gcs.GCS.Role != "roles/storage.objectViewer" || len(gcs.GCS.Permissions) != 2 || gcs.AWS != nil || len(gcs.Checks) != 2 {
		t.Errorf("gc_storage read_only: %+v", gcs)
	}
	az := setupInfo(t, e, viewer, url.Values{"provider": {"azure_blob"}, "bucket": {"datasets"}}).Guidance
	if az.Azure == nil || az.Azure.SASPermissions != "rwdl" || az.Azure.Role != "Storage Blob Data Contributor" {
		t.Errorf("azure_blob: %+v", az)
	}
	compat := setupInfo(t, e, viewer, url.Values{"provider": {"s3_compatible"}, "bucket": {"datasets"}}).Guidance
	if compat.AWS == nil || compat.AWS.TrustPolicy != nil {
		t.Errorf("s3_compatible: %+v", compat)
	}
	// Without the parameters, the documented answer only.
	if r := e.do("GET", base+"setup-info/", viewer, nil).json(t); len(r) != 2 {
		t.Errorf("setup-info without parameters: %v", r)
	}
}

func TestSetupInfoGuidanceBadParameters(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	tests := []struct {
		name  string
		query string
		want  map[string]string
	}{
		{"unknown provider", "provider=dropbox&bucket=abc", map[string]string{"provider": "Unsupported provider"}},
		{"no bucket", "provider=aws_s3", map[string]string{"bucket": "Give the bucket"}},
		{"bad S3 bucket", "provider=aws_s3&bucket=Acme_Data", map[string]string{"bucket": "lower-case"}},
		{"bad container", "provider=azure_blob&bucket=a--b", map[string]string{"bucket": "Invalid container name: it may not contain two hyphens in a row."}},
		{"bad prefix", "provider=gc_storage&bucket=abc&prefix=a//b", map[string]string{"prefix": "empty path segments"}},
		{"bad access mode", "provider=aws_s3&bucket=abc&access_mode=rw", map[string]string{"access_mode": `"read_only"`}},
		{"bucket without provider", "bucket=abc", map[string]string{"provider": "Give the provider"}},
		{"everything wrong", "provider=x&prefix=..&access_mode=all", map[string]string{
			"provider": "Unsupported", "bucket": "Give the bucket", "prefix": `".."`, "access_mode": "read_write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, e.do("GET", base+"setup-info/?"+tt.query, e.keys["acme/viewer"], nil), tt.want)
		})
	}
}
