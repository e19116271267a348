package lambdatest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
)

// TestFunctionsAssumeCustomerRoles runs the create and test functions on an
// iam_role config, with moto as STS and S3 behind a recording proxy: each
// function assumes the customer's role with its own (the Lambda role's)
// credentials, the org's external id and a session name naming the org,
// and the bucket sees only the role's temporary credentials.
func TestFunctionsAssumeCustomerRoles(t *testing.T) {
	s := newStack(t)
	rec := awsroletest.NewRecorder(t, s.moto.Endpoint)
	bucket := testenv.BucketName(t, "role")
	awsroletest.CreateBucket(t, s.moto.AWSConfig(), bucket, "data/seed.json")
	org, key := s.newOrg(t, "rolling")

	// STS and S3 are both the recorder (moto behind it).
	roleEnv := func(name string) []string {
		return setEnv(setEnv(s.env(name), "BUCKETLINK_AWS_STS_ENDPOINT", rec.URL), "BUCKETLINK_AWS_S3_ENDPOINT", rec.URL)
	}
	createEnv, testEnv := roleEnv("create-storage-config"), roleEnv("test-storage-config")
	create := s.start(t, "create-storage-config", createEnv)
	test := s.start(t, "test-storage-config", testEnv)

	const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"
	body, _ := json.Marshal(map[string]any{
		"name": "Role bucket", "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": "us-east-1",
		"s3_bucket_prefix": "data/", "s3_auth_method": "iam_role", "s3_role_arn": roleARN,
	})
	resp := invokeHTTP(t, create, s.event(t, "create-storage-config", edit{apiKey: key, body: string(body)}))
	wantStatus(t, "create", resp, http.StatusCreated)
	var created map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	if created["s3_role_arn"] != roleARN || created["s3_auth_method"] != "iam_role" || created["is_verified"] != true {
		t.Fatalf("create: %s", resp.Body)
	}
	uid, _ := created["uid"].(string)
	resp = invokeHTTP(t, test, s.event(t, "test-storage-config", edit{apiKey: key, uid: uid}))
	wantStatus(t, "test", resp, http.StatusOK)

	// One AssumeRole per function (each execution environment has its own
	// cache), each signed with that function's own credentials.
	calls := rec.AssumeRoleCalls()
	if len(calls) != 2 {
		t.Fatalf("%d AssumeRole calls, want 2: %+v", len(calls), calls)
	}
	issued := map[string]bool{}
	for i, signer := range []string{getEnv(createEnv, "AWS_ACCESS_KEY_ID"), getEnv(testEnv, "AWS_ACCESS_KEY_ID")} {
		c := calls[i]
		if c.RoleARN != roleARN || c.ExternalID != org.ExternalID || c.SessionName != "bucketlink-rolling" || c.SignedBy != signer || c.IssuedKeyID == "" {
			t.Errorf("AssumeRole call %d = %+v, want role %s, external id %s, session bucketlink-rolling, signed by %s",
				i, c, roleARN, org.ExternalID, signer)
		}
		issued[c.IssuedKeyID] = true
	}
	reqs := rec.S3Requests()
	if len(reqs) < 6 {
		t.Errorf("%d S3 requests, want the checks of two verifications", len(reqs))
	}
	for _, r := range reqs {
		if !issued[r.AccessKeyID] {
			t.Errorf("S3 %s %s signed by %q, not by a role's credentials", r.Method, r.Path, r.AccessKeyID)
		}
	}
}
