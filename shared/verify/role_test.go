package verify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"

// orgs is an in-memory s3blob.OrgFinder.
type orgs map[int64]*identity.Org

func (m orgs) GetOrgByID(_ context.Context, id int64) (*identity.Org, error) {
	if o, ok := m[id]; ok {
		return o, nil
	}
	return nil, errcode.ErrNotFound
}

// roleSetup is a Verifier for iam_role configs on moto's STS and S3,
// behind one recording proxy, and a config for a fresh bucket there.
type roleSetup struct {
	v   *verify.Verifier
	rec *awsroletest.Recorder
	org *identity.Org
	cfg *storageconfig.Config
}

func newRoleSetup(t *testing.T, stsEndpoint string, opts awsrole.Options, deadline time.Duration) *roleSetup {
	t.Helper()
	m := testenv.SharedMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	if stsEndpoint == "" {
		stsEndpoint = rec.URL
	}
	cfg := m.AWSConfig()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	roles, err := awsrole.NewFromConfig(cfg, stsEndpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "role")
	awsroletest.CreateBucket(t, cfg, bucket, prefix+"seed.json")
	org := &identity.Org{ID: 3, Slug: "initech", ExternalID: uuid.NewString()}
	return &roleSetup{
		v: &verify.Verifier{
			Opener:   &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: rec.URL, Roles: roles, Orgs: orgs{org.ID: org}},
			Deadline: deadline, CallTimeout: deadline / 2,
		},
		rec: rec,
		org: org,
		cfg: &storageconfig.Config{UID: uuid.NewString(), OrgID: org.ID, Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: bucket, Region: "us-east-1", KeyPrefix: prefix, Auth: s3.AuthIAMRole, RoleARN: roleARN}},
	}
}

func TestVerifyIAMRole(t *testing.T) {
	s := newRoleSetup(t, "", awsrole.Options{}, 10*time.Second)
	for i := range 2 {
		res := s.v.Verify(t.Context(), s.cfg, storageconfig.Credentials{})
		if !res.Verified() {
			t.Fatalf("verify %d: %+v %v", i, res.Checks, res.Errors)
		}
		assertChecks(t, res, allOK)
	}
	calls := s.rec.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("two verifications made %d AssumeRole calls, want 1", len(calls))
	}
	if c := calls[0]; c.RoleARN != roleARN || c.ExternalID != s.org.ExternalID || c.SessionName != "bucketlink-initech" {
		t.Errorf("AssumeRole call = %+v", c)
	}
	reqs := s.rec.S3Requests()
	if len(reqs) < 8 { // list, read, put, delete, twice
		t.Errorf("%d S3 requests, want at least 8", len(reqs))
	}
	for _, r := range reqs {
		if r.AccessKeyID != calls[0].IssuedKeyID || r.AccessKeyID == calls[0].SignedBy {
			t.Errorf("S3 %s %s signed by %q, want the role's %q", r.Method, r.Path, r.AccessKeyID, calls[0].IssuedKeyID)
		}
	}
}

func TestVerifyIAMRoleFailures(t *testing.T) {
	tests := []struct {
		name   string
		sts    func(tb testing.TB) string // STS endpoint; nil: the recorder
		fail   *awsroletest.STSError
		code   string
		field  string
		phrase []string
	}{
		{name: "trust policy refuses", fail: awsroletest.AccessDenied("arn:aws:sts::123456789012:assumed-role/bucketlink/fn", roleARN),
			code: verify.CodeRoleNotAssumable, field: s3.FieldRoleARN, phrase: []string{"trust policy", "external ID", "setup-info"}},
		{name: "malformed role", fail: &awsroletest.STSError{Status: 400, Code: "ValidationError", Message: "1 validation error detected: Value at 'roleArn' failed to satisfy constraint"},
			code: verify.CodeRoleNotAssumable, field: s3.FieldRoleARN, phrase: []string{"trust policy"}},
		{name: "throttled", fail: &awsroletest.STSError{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
			code: verify.CodeSTSUnavailable, field: errcode.NonField, phrase: []string{"STS", "not a problem with the role"}},
		{name: "sts silent", sts: testenv.HangingServer,
			code: verify.CodeSTSUnavailable, field: errcode.NonField, phrase: []string{"STS"}},
		{name: "sts refused", sts: testenv.RefusedEndpoint,
			code: verify.CodeSTSUnavailable, field: errcode.NonField, phrase: []string{"STS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var endpoint string
			if tt.sts != nil {
				endpoint = tt.sts(t)
			}
			s := newRoleSetup(t, endpoint, awsrole.Options{CallTimeout: 2 * time.Second}, time.Second)
			s.rec.FailAssumeRole(tt.fail)
			start := time.Now()
			res := s.v.Verify(t.Context(), s.cfg, storageconfig.Credentials{})
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Verify took %s", d)
			}
			assertChecks(t, res, bothLanes(tt.code))
			msgs := res.Errors[tt.field]
			if len(res.Errors) != 1 || len(msgs) != 1 {
				t.Fatalf("Errors = %v, want one message on %s", res.Errors, tt.field)
			}
			for _, p := range tt.phrase {
				if !strings.Contains(msgs[0], p) {
					t.Errorf("message %q does not say %q", msgs[0], p)
				}
			}
			if strings.Contains(msgs[0], s.org.ExternalID) {
				t.Errorf("message echoes the external id")
			}
			if n := len(s.rec.S3Requests()); n != 0 {
				t.Errorf("%d S3 requests without the role's credentials", n)
			}
		})
	}
}

// TestVerifyIAMRolePermissions runs against MinIO, whose STS AssumeRole
// gives temporary credentials with the policy of the user that signs the
// call, and whose S3 enforces it: the user plays the role here (moto does
// not enforce S3 permissions).
func TestVerifyIAMRolePermissions(t *testing.T) {
	f := getFixture(t)
	c := f.user(t, "role-read-only", testenv.PolicyFor(f.bucket, "s3:GetObject"))
	roles, err := awsrole.NewFromConfig(aws.Config{
		Region:      f.m.Region,
		Credentials: credentials.NewStaticCredentialsProvider(c["access_key_id"], c["secret_access_key"], ""),
		HTTPClient:  &http.Client{},
	}, f.m.Endpoint, awsrole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	org := &identity.Org{ID: 4, Slug: "umbrella", ExternalID: uuid.NewString()}
	v := &verify.Verifier{Opener: &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: f.m.Endpoint, Roles: roles, Orgs: orgs{org.ID: org}}}
	cfg := f.aws(f.bucket, f.m.Region)
	cfg.OrgID, cfg.Settings.(*s3.Settings).Auth, cfg.Settings.(*s3.Settings).RoleARN = org.ID, s3.AuthIAMRole, roleARN
	res := v.Verify(t.Context(), cfg, storageconfig.Credentials{})
	assertChecks(t, res, []wantCheck{{true, "ok"}, {true, "ok"}, {false, accessDenied}, {false, "skipped"}})
	assertErrors(t, res, errcode.FieldErrors{s3.FieldRoleARN: {
		"The role can list the bucket but is not allowed s3:PutObject on arn:aws:s3:::" + f.bucket + "/" + prefix + "*. Grant it in the role's permissions policy or the bucket policy.",
	}})
}
