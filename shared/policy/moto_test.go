package policy_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/policy"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

// TestDocumentsAreValidIAM hands the generated documents to IAM as the
// customer would (moto's IAM, which validates a permissions policy on
// CreatePolicy and PutRolePolicy, and a trust policy on
// UpdateAssumeRolePolicy, with AWS's grammar): the
// trust policy of an iam_role config becomes a role's, and each
// permissions policy a managed policy. MinIO proves what the permissions
// grant; this proves AWS's grammar accepts them, Principal and all.
func TestDocumentsAreValidIAM(t *testing.T) {
	client := iam.NewFromConfig(testenv.SharedMoto(t).AWSConfig())
	ctx := t.Context()

	base := policy.Target{Provider: s3.NameAWS, Bucket: "acme-data", Prefix: "annotations/",
		IAMRole: true, AWSAccountID: "014424401899", ExternalID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890"}
	g := policy.GuidanceFor(base)
	trust := marshal(t, *g.AWS.TrustPolicy)
	role, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bucketlink-access"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: role.Role.RoleName, PolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("UpdateAssumeRolePolicy with the trust policy: %v\n%s", err, trust)
	}

	special := base
	special.Prefix = "a*b?c$/"
	for name, target := range map[string]policy.Target{
		"read-write": base, "read-only": {Provider: base.Provider, Bucket: base.Bucket, Mode: policy.ReadOnly}, "escaped": special,
	} {
		doc := marshal(t, policy.PermissionsPolicy(target))
		if _, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bucketlink-" + name), PolicyDocument: aws.String(doc)}); err != nil {
			t.Errorf("CreatePolicy %s: %v\n%s", name, err, doc)
		}
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role.Role.RoleName,
			PolicyName: aws.String("bucketlink-" + name), PolicyDocument: aws.String(doc)}); err != nil {
			t.Errorf("PutRolePolicy %s: %v", name, err)
		}
	}

	// The validator can fail: a trust policy must name no Resource.
	bad := *g.AWS.TrustPolicy
	bad.Statement = []policy.Statement{bad.Statement[0]}
	bad.Statement[0].Resource = []string{"arn:aws:s3:::acme-data"}
	if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{
		RoleName: role.Role.RoleName, PolicyDocument: aws.String(marshal(t, bad)),
	}); err == nil {
		t.Error("IAM accepted a trust policy with a Resource; the check above proves nothing")
	}
	noResource := policy.PermissionsPolicy(base)
	noResource.Statement[1].Resource = nil
	if _, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bucketlink-bad"),
		PolicyDocument: aws.String(marshal(t, noResource))}); err == nil {
		t.Error("IAM accepted a permissions statement without a Resource; the checks above prove nothing")
	}
}
