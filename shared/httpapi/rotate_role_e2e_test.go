package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestRotateToIAMRole switches an aws_s3 config on moto from keys to a
// role (AssumeRole with the org's external id), refuses a role STS will
// not let bucketlink assume (400 on s3_role_arn, the first role kept), and
// goes back to keys without naming the method.
func TestRotateToIAMRole(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	m := testenv.SharedMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	roles, err := awsrole.NewFromConfig(m.AWSConfig(), rec.URL, awsrole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.api.Verifier = &verify.Verifier{
		Opener: &anyblob.Opener{
			HTTPClient: netguard.Policy{AllowPrivate: true}.HTTPClient(),
			S3:         &s3open.Opener{AWSEndpoint: rec.URL, Roles: roles, Orgs: e.store},
		},
		Deadline: 5 * time.Second,
	}
	admin := e.keys["acme/admin"]
	bucket := testenv.BucketName(t, "rot-role")
	awsroletest.CreateBucket(t, m.AWSConfig(), bucket, "annotations/seed.json")
	ak, sk := testenv.NewCredentials(t)
	rememberSecret(sk)
	r := e.do("POST", base, admin, awsBody(bucket, strings.ToUpper(ak), sk, "us-east-1"))
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	path := base + uid + "/"

	const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"
	r = e.do("PATCH", path, admin, map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": roleARN})
	wantStatus(t, r, http.StatusOK)
	wantShape(t, r, map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": roleARN, "is_verified": true})
	calls := rec.AssumeRoleCalls()
	if len(calls) != 1 || calls[0].RoleARN != roleARN || calls[0].ExternalID != e.orgs["acme"].ExternalID {
		t.Fatalf("AssumeRole calls = %+v, want one of %s with acme's external id", calls, roleARN)
	}

	rec.FailAssumeRole(awsroletest.AccessDenied("arn:aws:iam::123456789012:user/bucketlink", "arn:aws:iam::111122223333:role/other"))
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"s3_role_arn": "arn:aws:iam::111122223333:role/other"}),
		map[string]string{"s3_role_arn": "trust policy"})
	rec.FailAssumeRole(nil)
	if got := e.do("GET", path, admin, nil).json(t); got["s3_role_arn"] != roleARN {
		t.Errorf("a refused role replaced the stored one: %v", got["s3_role_arn"])
	}

	r = e.do("PATCH", path, admin, map[string]any{"s3_access_key_id": strings.ToUpper(ak), "s3_secret_access_key": sk})
	wantStatus(t, r, http.StatusOK)
	wantShape(t, r, map[string]any{"s3_auth_method": "access_key", "s3_role_arn": nil})
	if tr := triggers(e.history(t, path+"verifications/", admin)); len(tr) != 3 || tr[0] != "rotate" || tr[1] != "rotate" || tr[2] != "create" {
		t.Errorf("history: %v", tr)
	}
}
