package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/infra/testenv/googlefake"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestGCSImpersonationE2E creates gc_storage configs with
// gc_storage_auth_method "impersonation" through the HTTP API: bucketlink's
// own identity is a workload-identity-federation file with AWS as the
// source (AWS credentials from the environment, as on Lambda), exchanged at
// Google's STS and impersonating the customer's service account through IAM
// Credentials (googlefake: no emulator of either exists), against
// fake-gcs-server. A granted account verifies; one without the grant
// answers 400 on gc_storage_service_account_email naming the role; a key
// with the method answers 400 on that key.
func TestGCSImpersonationE2E(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-e2e")
	t.Setenv("AWS_SESSION_TOKEN", "test-session-token")
	const (
		audience   = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/bucketlink/providers/aws"
		federated  = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/bucketlink/subject/fn"
		bucketlink = "bucketlink@bucketlink-prod.iam.gserviceaccount.com"
	)
	e := newEnv(t, 0)
	g := googlefake.Start(t)
	g.Federate(audience, federated)
	g.AddServiceAccount(bucketlink)
	g.Grant(federated, bucketlink)
	granted := testenv.BucketName(t, "data") + "@customer-proj.iam.gserviceaccount.com"
	g.AddServiceAccount(granted)
	g.Grant(bucketlink, granted)
	notGranted := testenv.BucketName(t, "other") + "@customer-proj.iam.gserviceaccount.com"
	g.AddServiceAccount(notGranted)
	id, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{
		CredentialsJSON: g.AWSCredentialConfig(audience, bucketlink),
		HTTPClient:      netguard.Policy{AllowPrivate: true}.HTTPClient(),
		STSURL:          g.STSURL(), IAMCredentialsURL: g.URL,
	})
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	e.api.Verifier.(*verify.Verifier).Opener.(*anyblob.Opener).GCPIdentity = id
	bucket := testenv.BucketName(t, "imp")
	e.gcs.CreateBucket(t, bucket)
	base := "/api/v1/storage-configs/"
	admin := e.keys["acme/admin"]
	body := func(sa string) map[string]any {
		return map[string]any{
			"name": "GCS keyless", "provider": "gc_storage", "gc_storage_bucket_name": bucket,
			"gc_storage_auth_method": "impersonation", "gc_storage_service_account_email": sa,
		}
	}

	r := e.do("POST", base, admin, body(granted))
	wantStatus(t, r, http.StatusCreated)
	cfg := r.json(t)
	if cfg["is_verified"] != true || cfg["gc_storage_service_account_email"] != granted || cfg["gc_storage_auth_method"] != "impersonation" {
		t.Fatalf("create = %s", r.Body)
	}
	test := e.do("POST", base+cfg["uid"].(string)+"/test/", admin, nil)
	wantStatus(t, test, http.StatusOK)
	if test.json(t)["verified"] != true {
		t.Errorf("test/ = %s", test.Body)
	}

	wantFields(t, e.do("POST", base, admin, body(notGranted)), map[string]string{
		"gc_storage_service_account_email": "roles/iam.serviceAccountTokenCreator",
	})
	withKey := body(granted)
	withKey["gc_storage_auth_json_content"] = "{}"
	wantFields(t, e.do("POST", base, admin, withKey), map[string]string{"gc_storage_auth_json_content": "impersonation"})
	wantFields(t, e.do("POST", base, admin, body("not-an-email")), map[string]string{"gc_storage_service_account_email": "iam.gserviceaccount.com"})
}
