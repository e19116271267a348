package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
)

// TestVerifyIAMRole runs `bucketlink verify --auth-method iam_role` from
// an operator's machine: its own AWS credentials come from the
// environment (the SDK's default chain, as on a laptop), moto stands in
// for STS and S3 behind a recording proxy. The role is assumed once, with
// the --external-id given and the doctor's session name, and S3 sees only
// the role's temporary credentials. A trust policy that refuses answers
// exit 1 on --role-arn's field, naming the trust policy, and the output
// never carries the operator's key or the external id.
func TestVerifyIAMRole(t *testing.T) {
	m := testenv.StartMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	operatorKey, operatorSecret := testenv.NewCredentials(t)
	clearCredentialEnv(t)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": operatorKey, "AWS_SECRET_ACCESS_KEY": operatorSecret,
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	bucket := testenv.BucketName(t, "doctor-role")
	awsroletest.CreateBucket(t, m.AWSConfig(), bucket, "data/seed.json")
	const (
		roleARN    = "arn:aws:iam::111122223333:role/bucketlink-access"
		externalID = "doctor-external-id-7f3a"
	)
	args := []string{"verify", "--provider", "aws_s3", "--bucket", bucket, "--region", "us-east-1", "--prefix", "data",
		"--auth-method", "iam_role", "--role-arn", roleARN, "--external-id", externalID, "--org", "acme",
		"--aws-sts-endpoint", rec.URL, "--aws-s3-endpoint", rec.URL, "--allow-private-endpoints=true", "--json"}
	noSecrets := func(t *testing.T, out string) {
		t.Helper()
		for _, s := range []string{operatorKey, operatorSecret, externalID} {
			if strings.Contains(out, s) {
				t.Errorf("the output carries the operator's key or the external id:\n%s", out)
			}
		}
	}

	stdout, stderr, code := command(t, "", args...)
	if code != exitPassed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitPassed, stdout, stderr)
	}
	noSecrets(t, stdout+stderr)
	var res struct {
		Verified bool `json:"verified"`
		Checks   []struct {
			Name   string `json:"name"`
			Passed bool   `json:"passed"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || !res.Verified || len(res.Checks) == 0 {
		t.Fatalf("--json = %s (%v)", stdout, err)
	}
	calls := rec.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	want := awsroletest.AssumeRoleCall{RoleARN: roleARN, ExternalID: externalID, SessionName: "bucketlink-acme",
		DurationSeconds: 3600, SignedBy: operatorKey, IssuedKeyID: calls[0].IssuedKeyID}
	if calls[0] != want || want.IssuedKeyID == "" {
		t.Errorf("AssumeRole call = %+v\nwant                %+v", calls[0], want)
	}
	reqs := rec.S3Requests()
	if len(reqs) < 3 {
		t.Errorf("%d S3 requests, want the checks' requests", len(reqs))
	}
	for _, r := range reqs {
		if r.AccessKeyID != want.IssuedKeyID {
			t.Errorf("S3 %s %s signed by %q, want the role's %q", r.Method, r.Path, r.AccessKeyID, want.IssuedKeyID)
		}
	}

	// The role's trust policy refuses this caller (or this external id).
	rec.FailAssumeRole(awsroletest.AccessDenied("arn:aws:iam::123456789012:user/operator", roleARN))
	stdout, stderr, code = command(t, "", args...)
	if code != exitFailed {
		t.Fatalf("refused role: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	noSecrets(t, stdout+stderr)
	var refused struct {
		Verified bool                `json:"verified"`
		Errors   map[string][]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(stdout), &refused); err != nil || refused.Verified ||
		len(refused.Errors["s3_role_arn"]) != 1 || !strings.Contains(refused.Errors["s3_role_arn"][0], "trust policy") {
		t.Errorf("refused role: --json = %s (%v)", stdout, err)
	}
}
