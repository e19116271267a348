package policy

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

// PolicyVersion is the IAM policy language version every document here
// declares (the only one with policy variables, which the escapes of
// arnText need).
const PolicyVersion = "2012-10-17"

// Document is an IAM policy document: a permissions policy, or a role's
// trust policy.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement of an IAM policy document. Its Sid
// names the check it serves ("BucketlinkList"), so that a fix can name the
// statement to add and a reader can tell the statements apart.
type Statement struct {
	Sid       string     `json:"Sid"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	// Condition maps an operator to condition keys and their values:
	// {"StringLike": {"s3:prefix": ["annotations/*"]}}.
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Principal is the principal of a trust policy statement.
type Principal struct {
	AWS string `json:"AWS"`
}

// The S3 actions each check calls (see package verify and shared/blob/s3blob):
// list is ListObjectsV2 under the prefix, read a ranged GetObject, write a
// PutObject of the probe, delete its DeleteObject, and on a versioned
// bucket the DeleteObject of the probe's version, which AWS allows with
// s3:DeleteObjectVersion only (MinIO allows it with s3:DeleteObject);
// presign signs a PutObject (no call) that the platform's PUT then makes
// with the signer's rights. Region discovery (HeadBucket) reads the region
// from a refusal too, and needs nothing.
var s3Actions = map[string][]string{
	CheckList:   {"s3:ListBucket"},
	CheckRead:   {"s3:GetObject"},
	CheckWrite:  {"s3:PutObject"},
	CheckDelete: {"s3:DeleteObject", "s3:DeleteObjectVersion"},
}

// sids are the statement ids of the checks' statements.
var sids = map[string]string{
	CheckList:   "BucketlinkList",
	CheckRead:   "BucketlinkRead",
	CheckWrite:  "BucketlinkWrite",
	CheckDelete: "BucketlinkDelete",
}

// Placeholders for what the caller did not know.
const (
	PlaceholderAccountID  = "BUCKETLINK_AWS_ACCOUNT_ID"
	PlaceholderExternalID = "EXTERNAL_ID"
	PlaceholderKMSKeyARN  = "KMS_KEY_ARN"
)

// AWSGuidance is the grant of an aws_s3 or s3_compatible target.
type AWSGuidance struct {
	// PermissionsPolicy holds one statement per check (Checks): attach it
	// to the IAM user whose access key the config holds, or to the role.
	PermissionsPolicy Document `json:"permissions_policy"`
	// TrustPolicy (aws_s3 only) lets bucketlink's account assume the role
	// with the org's external id: the trust policy of an iam_role
	// config's role.
	TrustPolicy *Document `json:"trust_policy,omitempty"`
	// Notes say where each document goes and what it does not cover.
	Notes []string `json:"notes"`
}

func awsGuidance(t Target) *AWSGuidance {
	g := &AWSGuidance{PermissionsPolicy: PermissionsPolicy(t)}
	g.Notes = append(g.Notes, "Attach permissions_policy to the IAM user whose access key the storage config holds, "+
		"or (s3_auth_method iam_role) to the role bucketlink assumes.")
	if t.Provider == s3.NameAWS {
		trust := TrustPolicy(t)
		g.TrustPolicy = &trust
		g.Notes = append(g.Notes, "For s3_auth_method iam_role, make trust_policy the role's trust policy: it lets bucketlink's "+
			"AWS account assume the role only with your organization's external ID.")
	}
	g.Notes = append(g.Notes, "If the bucket's default encryption is SSE-KMS with a customer managed key, also allow "+
		"kms:Decrypt (to read) and kms:GenerateDataKey (to write) on the key.")
	return g
}

// PermissionsPolicy returns t's IAM permissions policy: one statement per
// check of t's mode, on arn:aws:s3:::bucket (list, with the s3:prefix
// condition when there is a prefix) and arn:aws:s3:::bucket/prefix*.
func PermissionsPolicy(t Target) Document {
	d := Document{Version: PolicyVersion}
	for _, c := range Checks(t.mode()) {
		d.Statement = append(d.Statement, S3Statement(t, c))
	}
	return d
}

// S3Statement returns the statement of t's policy that check needs (write's
// for presign).
func S3Statement(t Target, check string) Statement {
	if check == CheckPresign {
		check = CheckWrite
	}
	part, pfx := partition(t), t.Prefix
	if t.Provider == s3.NameAWS {
		pfx = arnText(pfx)
	}
	s := Statement{Sid: sids[check], Effect: "Allow", Action: s3Actions[check]}
	if check == CheckList {
		s.Resource = []string{"arn:" + part + ":s3:::" + t.Bucket}
		if pfx != "" {
			s.Condition = map[string]map[string][]string{"StringLike": {"s3:prefix": {pfx + "*"}}}
		}
		return s
	}
	s.Resource = []string{"arn:" + part + ":s3:::" + t.Bucket + "/" + pfx + "*"}
	return s
}

// TrustPolicy returns the trust policy of an iam_role config's role: it
// allows sts:AssumeRole to bucketlink's account on condition that
// sts:ExternalId is the org's external id (as awsrole sends it).
func TrustPolicy(t Target) Document {
	return Document{Version: PolicyVersion, Statement: []Statement{trustStatement(t)}}
}

func trustStatement(t Target) Statement {
	account, ext := or(t.AWSAccountID, PlaceholderAccountID), or(t.ExternalID, PlaceholderExternalID)
	return Statement{
		Sid: "BucketlinkAssumeRole", Effect: "Allow",
		Principal: &Principal{AWS: "arn:" + partition(t) + ":iam::" + account + ":root"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string][]string{"StringEquals": {"sts:ExternalId": {ext}}},
	}
}

func awsFix(t Target, check string) *Fix {
	s := S3Statement(t, check)
	where := "Add this statement to the policy of the IAM user whose access key the storage config holds"
	switch {
	case t.IAMRole:
		where = "Add this statement to the role's permissions policy"
	case t.Provider == s3.NameCompatible:
		where = "Add this statement to the policy of the user whose access key the storage config holds (if the store has IAM-style policies)"
	}
	return &Fix{Missing: s.Action, Statement: &s, Note: where + "; a bucket policy must not deny it either."}
}

func trustFix(t Target) *Fix {
	s := trustStatement(t)
	return &Fix{Missing: s.Action, Statement: &s,
		Note: "Add this statement to the role's trust policy; GET /api/v1/storage-configs/setup-info/ shows bucketlink's " +
			"account ID and your organization's external ID. Also check that the role ARN is right."}
}

// kmsActions is what each check needs of the bucket's KMS key under SSE-KMS.
var kmsActions = map[string]string{CheckRead: "kms:Decrypt", CheckWrite: "kms:GenerateDataKey", CheckPresign: "kms:GenerateDataKey"}

func kmsFix(t Target, check string) *Fix {
	action, ok := kmsActions[check]
	if !ok || !s3.IsFamily(string(t.Provider)) {
		return nil
	}
	sid := "BucketlinkKMSDecrypt"
	if action == "kms:GenerateDataKey" {
		sid = "BucketlinkKMSGenerateDataKey"
	}
	s := Statement{Sid: sid, Effect: "Allow", Action: []string{action}, Resource: []string{or(t.KMSKeyARN, PlaceholderKMSKeyARN)}}
	return &Fix{Missing: s.Action, Statement: &s,
		Note: "Add this statement to the permissions policy of the user or role, and make sure the key policy allows it too."}
}

// partition returns the ARN partition of t's region.
func partition(t Target) string {
	switch r := t.Region; {
	case t.Provider != s3.NameAWS:
		return "aws"
	case strings.HasPrefix(r, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(r, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// arnText escapes the characters AWS IAM reads as wildcards or variables
// in resources and StringLike values: "*" is ${*}, "?" is ${?} and "$" is
// ${$} (IAM policy variables, "Special characters"), so that a prefix is
// matched literally. Only aws_s3 prefixes are escaped: MinIO (tested)
// knows no such escapes and reads ${*} as text, so an s3_compatible prefix
// is written as it is, and a "*" or "?" in it matches any character there
// too.
func arnText(s string) string {
	if !strings.ContainsAny(s, "*?$") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '$':
			b.WriteString("${" + string(r) + "}")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
