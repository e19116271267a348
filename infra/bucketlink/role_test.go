package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestServeIAMRole runs `bucketlink serve` with its own AWS credentials in
// the environment (the SDK's default chain) and moto standing in for STS
// and S3, behind a recording proxy: the service assumes the customer's
// role with the org's external id, and S3 sees only the role's credentials.
func TestServeIAMRole(t *testing.T) {
	m := testenv.StartMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	serviceKey, serviceSecret := testenv.NewCredentials(t)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": serviceKey, "AWS_SECRET_ACCESS_KEY": serviceSecret, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"BUCKETLINK_AWS_STS_ENDPOINT": rec.URL,
		"BUCKETLINK_AWS_S3_ENDPOINT":  rec.URL,
		// The proxy listens on loopback, as moto does.
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS": "true",
	} {
		t.Setenv(k, v)
	}
	bucket := testenv.BucketName(t, "role")
	awsroletest.CreateBucket(t, m.AWSConfig(), bucket, "data/seed.json")

	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/api/v1/storage-configs/", key: strings.TrimSpace(string(key))}
	var setup struct {
		ExternalID string `json:"external_id"`
	}
	c.do("GET", "setup-info/", nil, http.StatusOK, &setup)

	const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"
	create := map[string]any{"name": "Role bucket", "provider": "aws_s3", "s3_bucket_name": bucket,
		"s3_bucket_region": "us-east-1", "s3_bucket_prefix": "data/", "s3_auth_method": "iam_role", "s3_role_arn": roleARN}
	var created map[string]any
	c.do("POST", "", create, http.StatusCreated, &created)
	if created["s3_role_arn"] != roleARN || created["s3_auth_method"] != "iam_role" || created["is_verified"] != true {
		t.Errorf("created = %v", created)
	}
	uid, _ := created["uid"].(string)

	calls := rec.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	want := awsroletest.AssumeRoleCall{RoleARN: roleARN, ExternalID: setup.ExternalID, SessionName: "bucketlink-" + provision.DefaultOrgSlug,
		DurationSeconds: 3600, SignedBy: serviceKey, IssuedKeyID: calls[0].IssuedKeyID}
	if calls[0] != want || want.IssuedKeyID == "" || setup.ExternalID == "" {
		t.Errorf("AssumeRole call = %+v\nwant                %+v", calls[0], want)
	}

	// Test again: the cached credentials are used.
	var tested struct {
		Verified bool `json:"verified"`
	}
	c.do("POST", uid+"/test/", nil, http.StatusOK, &tested)
	if !tested.Verified {
		t.Errorf("test: not verified")
	}
	if n := len(rec.AssumeRoleCalls()); n != 1 {
		t.Errorf("create and test made %d AssumeRole calls, want 1", n)
	}
	reqs := rec.S3Requests()
	if len(reqs) < 6 {
		t.Errorf("%d S3 requests, want the checks of two verifications", len(reqs))
	}
	for _, r := range reqs {
		if r.AccessKeyID != want.IssuedKeyID || r.AccessKeyID == serviceKey {
			t.Errorf("S3 %s %s signed by %q, want the role's %q", r.Method, r.Path, r.AccessKeyID, want.IssuedKeyID)
		}
	}
	var got map[string]any
	c.do("GET", uid+"/", nil, http.StatusOK, &got)
	if got["s3_role_arn"] != roleARN {
		t.Errorf("get: s3_role_arn = %v", got["s3_role_arn"])
	}

	// A role whose trust policy refuses (another role: nothing cached).
	rec.FailAssumeRole(awsroletest.AccessDenied("arn:aws:iam::123456789012:user/bucketlink", roleARN+"-other"))
	create["s3_role_arn"] = roleARN + "-other"
	var refused map[string][]string
	body := c.do("POST", "", create, http.StatusBadRequest, &refused)
	if len(refused) != 1 || len(refused["s3_role_arn"]) != 1 || !strings.Contains(refused["s3_role_arn"][0], "trust policy") {
		t.Errorf("refused role: %s", body)
	}
	for _, secret := range []string{setup.ExternalID, serviceSecret, serviceKey} {
		if strings.Contains(body, secret) {
			t.Errorf("the answer echoes the external id or the service's key: %s", body)
		}
	}
	if n := len(rec.AssumeRoleCalls()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}

	// Invalid iam_role requests answer 400 before any call to STS.
	rec.FailAssumeRole(nil)
	tests := []struct {
		name   string
		edit   map[string]any
		fields []string
	}{
		{"keys with a role", map[string]any{"s3_access_key_id": "AKIAIOSFODNN7EXAMPLE", "s3_secret_access_key": "x"},
			[]string{"s3_access_key_id", "s3_secret_access_key"}},
		{"not a role ARN", map[string]any{"s3_role_arn": "arn:aws:iam::111122223333:user/alice"}, []string{"s3_role_arn"}},
		{"no role ARN", map[string]any{"s3_role_arn": nil}, []string{"s3_role_arn"}},
		{"s3_compatible", map[string]any{"provider": "s3_compatible", "s3_endpoint_url": rec.URL}, []string{"s3_auth_method"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := maps.Clone(create)
			for k, v := range tt.edit {
				if v == nil {
					delete(req, k)
				} else {
					req[k] = v
				}
			}
			var fe map[string][]string
			c.do("POST", "", req, http.StatusBadRequest, &fe)
			if got := slices.Sorted(maps.Keys(fe)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, fe)
			}
		})
	}
	if n := len(rec.AssumeRoleCalls()); n != 2 {
		t.Errorf("invalid requests reached STS: %d calls, want 2", n)
	}
}

// client calls the API with the admin key.
type client struct {
	t    *testing.T
	base string
	key  string
}

// do sends body (JSON) and decodes the answer into out, failing the test
// on another status; it returns the raw answer.
func (c *client) do(method, path string, body any, status int, out any) string {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Avala-Api-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := serveClient(c.t).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return string(raw)
}
