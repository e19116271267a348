package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
)

const base = "/api/v1/storage-configs/"

var documentedFields = []string{
	"uid", "name", "provider", "s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_is_accelerated",
	"gc_storage_bucket_name", "gc_storage_prefix", "is_verified", "last_verified_at", "created_at", "updated_at",
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
}

func wantDetail(t *testing.T, r response, status int, detail string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.json(t); len(got) != 1 || got["detail"] != detail {
		t.Fatalf("body = %s, want {\"detail\": %q}", r.Body, detail)
	}
}

// wantFields checks a 400 whose body names exactly these fields, and that
// the first message of each contains the matching substring.
func wantFields(t *testing.T, r response, want map[string]string) {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest)
	var fe map[string][]string
	if err := json.Unmarshal(r.Body, &fe); err != nil {
		t.Fatalf("400 body is not a field map: %s", r.Body)
	}
	if got := slices.Sorted(maps.Keys(fe)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("fields = %v, want %v; body %s", got, slices.Sorted(maps.Keys(want)), r.Body)
	}
	for f, sub := range want {
		if !strings.Contains(fe[f][0], sub) {
			t.Errorf("%s: %q does not contain %q", f, fe[f][0], sub)
		}
	}
}

func TestCreateGetTestDeleteS3Compatible(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	e.minio.PutObject(t, bucket, "data/img-1.jpg", []byte("jpeg"))
	admin := e.keys["acme/admin"]

	r := e.do("POST", base, admin, e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	c := r.json(t)
	for _, f := range documentedFields {
		if _, ok := c[f]; !ok {
			t.Errorf("response lacks documented field %s", f)
		}
	}
	if c["is_verified"] != true || c["last_verified_at"] == nil || c["s3_bucket_prefix"] != "data/" ||
		c["s3_is_accelerated"] != false || c["s3_endpoint_url"] != e.minio.Endpoint || c["provider"] != "s3_compatible" {
		t.Errorf("created config = %s", r.Body)
	}
	for _, ts := range []string{"created_at", "updated_at", "last_verified_at"} {
		if _, err := time.Parse("2006-01-02T15:04:05Z", c[ts].(string)); err != nil {
			t.Errorf("%s = %v: not UTC ISO 8601 with Z", ts, c[ts])
		}
	}
	if strings.Contains(string(r.Body), sk) || strings.Contains(string(r.Body), "secret") {
		t.Fatalf("response carries a credential: %s", r.Body)
	}
	uid := c["uid"].(string)
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, base+uid+"/") {
		t.Errorf("Location = %q", loc)
	}

	wantStatus(t, e.do("GET", base+uid+"/", e.keys["acme/viewer"], nil), http.StatusOK)
	wantDetail(t, e.do("GET", base+uid+"/", e.keys["other/admin"], nil), http.StatusForbidden,
		"You do not have permission to perform this action.")

	// Re-test: still good; then revoke the user's policy and it fails.
	r = e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil)
	wantStatus(t, r, http.StatusOK)
	var tr struct {
		Verified bool                `json:"verified"`
		Errors   map[string][]string `json:"errors"`
		Checks   []struct{ Name, Code string }
	}
	_ = json.Unmarshal(r.Body, &tr)
	if !tr.Verified || len(tr.Checks) != 4 || tr.Errors != nil {
		t.Fatalf("test = %s", r.Body)
	}
	changes, unsubscribe := e.events.Subscribe()
	defer unsubscribe()
	e.minio.DetachUserPolicy(t, ak)
	r = e.do("POST", base+uid+"/test/", e.keys["acme/admin"], nil)
	wantStatus(t, r, http.StatusOK)
	tr.Errors = nil
	_ = json.Unmarshal(r.Body, &tr)
	if tr.Verified || len(tr.Errors["s3_bucket_name"]) == 0 || tr.Checks[0].Code == "ok" {
		t.Fatalf("test after revocation = %s", r.Body)
	}
	if got := e.do("GET", base+uid+"/", admin, nil).json(t); got["is_verified"] != false {
		t.Errorf("is_verified after failed test = %v", got["is_verified"])
	}
	// The flip is published once, naming the org and the failing checks.
	select {
	case ch := <-changes:
		if ch.UID != uid || !ch.Previous || ch.New || ch.Trigger != "test" || ch.Organization != "acme" || len(ch.CheckCodes) == 0 {
			t.Errorf("change = %+v", ch)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no change published for the flip")
	}
	r = e.do("POST", base+uid+"/test/", e.keys["acme/admin"], nil) // still failing: no flip
	select {
	case ch := <-changes:
		t.Errorf("a test that changed nothing published %+v", ch)
	case <-time.After(200 * time.Millisecond):
	}

	// Delete: viewer and member may not; admin may; then it is gone.
	wantDetail(t, e.do("DELETE", base+uid+"/", e.keys["acme/member"], nil), http.StatusForbidden,
		"You do not have permission to perform this action.")
	r = e.do("DELETE", base+uid+"/", admin, nil)
	wantStatus(t, r, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 with a body: %s", r.Body)
	}
	wantDetail(t, e.do("GET", base+uid+"/", admin, nil), http.StatusNotFound, "Not found.")
	if _, err := e.store.GetConfig(context.Background(), uid); !errors.Is(err, errcode.ErrNotFound) {
		t.Errorf("store still has the config: %v", err)
	}
	wantDetail(t, e.do("DELETE", base+uid+"/", admin, nil), http.StatusNotFound, "Not found.")
}

func TestCreateAWSS3ThroughOperatorEndpoint(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	r := e.do("POST", base, "x:"+e.keys["acme/admin"], awsBody(bucket, ak, sk, "us-east-1"))
	wantStatus(t, r, http.StatusCreated)
	c := r.json(t)
	if c["provider"] != "aws_s3" || c["s3_is_accelerated"] != false || c["s3_endpoint_url"] != nil || c["s3_bucket_region"] != "us-east-1" {
		t.Errorf("aws_s3 config = %s", r.Body)
	}
}

// TestCreateFailuresStoreNothing produces each failure for real against
// MinIO and checks the exact field, and that nothing was stored.
func TestCreateFailuresStoreNothing(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	admin := e.keys["acme/admin"]
	good, ak, sk := e.bucketUser(rwActions...)
	listOnly, lak, lsk := e.bucketUser()
	noDelete, nak, nsk := e.bucketUser("s3:GetObject", "s3:PutObject")
	hanging := testenv.HangingServer(t)
	unknownAK := strings.ToUpper(ak[:len(ak)-4]) + "ZZZZ"

	tests := []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"wrong secret", e.compatBody(good, ak, sk+"x"), map[string]string{"s3_secret_access_key": "does not match"}},
		{"unknown key", e.compatBody(good, unknownAK, sk), map[string]string{"s3_access_key_id": "not recognised"}},
		{"missing bucket", e.compatBody("no-such-bucket-e2e", ak, sk), map[string]string{"s3_bucket_name": "Bucket not found or access denied."}},
		{"list only", e.compatBody(listOnly, lak, lsk), map[string]string{"s3_access_key_id": "s3:PutObject"}},
		{"write but not delete", e.compatBody(noDelete, nak, nsk), map[string]string{"s3_access_key_id": "s3:DeleteObject"}},
		{"wrong region", awsBody(good, ak, sk, "eu-west-1"), map[string]string{"s3_bucket_region": "us-east-1"}},
		{"hanging endpoint", func() map[string]any {
			b := e.compatBody(good, ak, sk)
			b["s3_endpoint_url"] = hanging
			return b
		}(), map[string]string{"s3_endpoint_url": "could not be reached"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := e.do("POST", base, admin, tt.body)
			wantFields(t, r, tt.want)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, past the 3s deadline", d)
			}
		})
	}
	page := e.do("GET", base, admin, nil).json(t)
	if n := len(page["results"].([]any)); n != 0 {
		t.Errorf("%d configs stored after failed creates", n)
	}
}

func TestValidationAndBodyErrors(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	admin := e.keys["acme/admin"]
	wantFields(t, e.do("POST", base, admin, map[string]any{"provider": "dropbox", "s3_bucket_name": "A"}),
		map[string]string{"provider": "Unsupported provider: dropbox", "name": "required"})
	wantFields(t, e.do("POST", base, admin, awsBody("Bad_Bucket", "AKIAIOSFODNN7EXAMPLE", "x", "mars-1")),
		map[string]string{"s3_bucket_name": "", "s3_bucket_region": "us-west-2"})
	wantFields(t, e.do("POST", base, admin, `{"name": `), map[string]string{errcode.NonField: "Malformed JSON"})
	big := `{"name": "` + strings.Repeat("x", 70<<10) + `"}`
	r := e.do("POST", base, admin, big)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.json(t)["detail"].(string), "65536") {
		t.Errorf("413 body = %s", r.Body)
	}
	b := awsBody("acme-datasets", "AKIAIOSFODNN7EXAMPLE", "x", "us-west-2")
	b["s3_auth_method"], b["s3_role_arn"] = "iam_role", "arn:aws:iam::123456789012:role/bucketlink-access"
	wantFields(t, e.do("POST", base, admin, b), map[string]string{"s3_access_key_id": "iam_role", "s3_secret_access_key": "iam_role"})
	b = e.compatBody("acme-datasets", "", "")
	delete(b, "s3_access_key_id")
	delete(b, "s3_secret_access_key")
	b["s3_auth_method"] = "iam_role"
	wantFields(t, e.do("POST", base, admin, b), map[string]string{"s3_auth_method": "only for provider aws_s3"})
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	const invalid = "Invalid API key."
	wantDetail(t, e.do("GET", base, "", nil), http.StatusUnauthorized, invalid)
	wantDetail(t, e.do("GET", base, "not-a-key", nil), http.StatusUnauthorized, invalid)
	wellFormed, _, _ := identity.NewKey("nobody")
	wantDetail(t, e.do("GET", base, wellFormed, nil), http.StatusUnauthorized, invalid)
	wantStatus(t, e.do("GET", base, "x:"+e.keys["acme/viewer"], nil), http.StatusOK)

	// Revoked keys answer exactly like unknown ones.
	k, err := e.store.GetAPIKeyByHash(context.Background(), identity.HashKey(e.keys["acme/viewer"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAPIKey(context.Background(), k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantDetail(t, e.do("GET", base, e.keys["acme/viewer"], nil), http.StatusUnauthorized, invalid)

	// Routing errors are JSON too.
	wantDetail(t, e.do("GET", "/api/v1/nothing/", e.keys["acme/admin"], nil), http.StatusNotFound, "Not found.")
	r := e.do("PUT", base, e.keys["acme/admin"], nil)
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if r.Header.Get("Allow") == "" || r.json(t)["detail"] == nil {
		t.Errorf("405 = %v %s", r.Header, r.Body)
	}
}

func TestRolesAndOrganizations(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	const denied = "You do not have permission to perform this action."
	body := awsBody("acme-datasets", "AKIAIOSFODNN7EXAMPLE", "viewer-cannot-create", "us-west-2")
	wantDetail(t, e.do("POST", base, e.keys["acme/viewer"], body), http.StatusForbidden, denied)
	wantDetail(t, e.do("POST", base, e.keys["acme/member"], body), http.StatusForbidden, denied)

	// Several memberships: the organization parameter is required and checked.
	both := e.keys["both"]
	wantFields(t, e.do("GET", base, both, nil), map[string]string{"organization": "?organization="})
	wantStatus(t, e.do("GET", base+"?organization=acme", both, nil), http.StatusOK)
	wantStatus(t, e.do("GET", base+"?organization=other", both, nil), http.StatusOK)
	wantDetail(t, e.do("POST", base+"?organization=other", both, body), http.StatusForbidden, denied)
	wantDetail(t, e.do("GET", base+"?organization=other", e.keys["acme/admin"], nil), http.StatusForbidden, denied)
	wantDetail(t, e.do("GET", base+"?organization=nope", e.keys["acme/admin"], nil), http.StatusForbidden, denied)

	// Setup info: the configured account and the org's stable external id.
	r := e.do("GET", base+"setup-info/?organization=other", both, nil)
	wantStatus(t, r, http.StatusOK)
	si := r.json(t)
	if si["avala_aws_account_id"] != e.account || si["external_id"] != e.orgs["other"].ExternalID || len(si) != 2 {
		t.Errorf("setup-info = %s", r.Body)
	}
	if again := e.do("GET", base+"setup-info/", e.keys["other/viewer"], nil).json(t); again["external_id"] != si["external_id"] {
		t.Error("external_id is not stable")
	}

	// uid routes: not a UUID and unknown UUID are 404, whatever the role.
	wantDetail(t, e.do("GET", base+"not-a-uuid/", e.keys["acme/viewer"], nil), http.StatusNotFound, "Not found.")
	wantDetail(t, e.do("POST", base+"00000000-0000-4000-8000-000000000000/test/", e.keys["acme/member"], nil), http.StatusNotFound, "Not found.")
	wantDetail(t, e.do("DELETE", base+"NOT-A-UUID/", e.keys["acme/admin"], nil), http.StatusNotFound, "Not found.")
}
