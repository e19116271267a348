// Package policy writes the least-privilege grants a storage config needs,
// per provider, and the fix of each check that fails for a missing one:
// for AWS S3 (and S3-compatible stores with IAM-style policies) the IAM
// permissions policy scoped to the bucket and prefix, and the trust policy
// of an iam_role config; for Google Cloud Storage the role and exact
// permissions to grant, as gcloud commands; for Azure Blob the SAS
// permissions and the RBAC role.
//
// A grant is written per check (package verify's list, read, write,
// delete; presign needs what write needs), so that the grant behind a
// failed check is one statement or one permission, and a policy holds only
// what the checks and the platform use: listing under the prefix, reading,
// writing and deleting objects under it. This package makes no call and
// links no SDK.
package policy

import (
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// AccessMode is what a connection may do, as the API spells it.
type AccessMode string

// Access modes: read_write (the default) runs and grants every check;
// read_only grants and runs list and read only.
const (
	ReadWrite AccessMode = "read_write"
	ReadOnly  AccessMode = "read_only"
)

// ParseAccessMode returns the mode s names ("" is ReadWrite); ok is false
// for anything else.
func ParseAccessMode(s string) (m AccessMode, ok bool) {
	switch AccessMode(s) {
	case "", ReadWrite:
		return ReadWrite, true
	case ReadOnly:
		return ReadOnly, true
	}
	return "", false
}

// The checks a grant serves, named as package verify names them (its
// CheckList, CheckRead, CheckWrite, CheckDelete and CheckPresign; a test
// holds the two equal).
const (
	CheckList    = "list"
	CheckRead    = "read"
	CheckWrite   = "write"
	CheckDelete  = "delete"
	CheckPresign = "presign"
)

// Checks returns the checks of mode m that need a grant, in the order the
// grants are written. The presign check needs what write needs (a signed
// PUT is used with the signer's permissions), so it has no grant of its
// own.
func Checks(m AccessMode) []string {
	if m == ReadOnly {
		return []string{CheckList, CheckRead}
	}
	return []string{CheckList, CheckRead, CheckWrite, CheckDelete}
}

// Target is what a grant is written for: one bucket (container) and prefix
// of one provider, with the access mode, and what the provider's grants
// depend on.
type Target struct {
	Provider storageconfig.Provider
	// Bucket is the bucket, or the container for azure_blob.
	Bucket string
	// Prefix is the normalised key prefix ("" or ending in "/"), as
	// storageconfig.NormalizePrefix returns it.
	Prefix string
	// Mode is the access mode; "" means ReadWrite.
	Mode AccessMode
	// Region is the bucket's region for aws_s3, when known: it picks the
	// ARN partition (aws-cn, aws-us-gov; aws otherwise).
	Region string
	// IAMRole says the aws_s3 config authenticates with an IAM role that
	// bucketlink assumes (its trust policy is part of the grant).
	IAMRole bool
	// AzureSAS says the azure_blob config's credential is a SAS token (an
	// account key has every permission; its failures are not grants).
	AzureSAS bool
	// AzurePrincipal says the azure_blob config signs in as an Entra ID
	// service principal (its grant is an RBAC role assignment).
	AzurePrincipal bool
	// AWSAccountID and ExternalID are what a role's trust policy names:
	// bucketlink's AWS account and the org's external id (setup-info).
	AWSAccountID, ExternalID string
	// KMSKeyARN is the KMS key of the bucket's default encryption, when a
	// check found one refusing it (the kms_access_denied fix names it).
	KMSKeyARN string
}

// TargetOf returns the target of config c: its provider, bucket, prefix
// and auth method. creds tell an Azure SAS token from an account key.
func TargetOf(c *storageconfig.Config, creds storageconfig.Credentials) Target {
	t := Target{
		Provider: c.Provider,
		Bucket:   c.Bucket(),
		Prefix:   c.Prefix(),
		Mode:     AccessMode(c.Mode()),
		AzureSAS: c.Provider == azure.Name && azure.SASOnly(creds),
	}
	if s, ok := c.Settings.(*azure.Settings); ok && s.ServicePrincipal() {
		t.AzureSAS, t.AzurePrincipal = false, true
	}
	if s, ok := c.Settings.(*s3.Settings); ok {
		t.Region, t.IAMRole = s.Region, s.IAMRole()
	}
	return t
}

func (t Target) mode() AccessMode {
	if t.Mode == ReadOnly {
		return ReadOnly
	}
	return ReadWrite
}

// Guidance is what to grant for a target, in the provider's own terms:
// exactly one of AWS, GCS and Azure is set.
type Guidance struct {
	Provider   storageconfig.Provider `json:"provider"`
	Bucket     string                 `json:"bucket"`
	Prefix     string                 `json:"prefix"`
	AccessMode AccessMode             `json:"access_mode"`
	// Checks are the checks the grant serves (see Checks).
	Checks []string       `json:"checks"`
	AWS    *AWSGuidance   `json:"aws,omitempty"`
	GCS    *GCSGuidance   `json:"gcs,omitempty"`
	Azure  *AzureGuidance `json:"azure,omitempty"`
}

// GuidanceFor returns the grant of t.
func GuidanceFor(t Target) Guidance {
	g := Guidance{Provider: t.Provider, Bucket: t.Bucket, Prefix: t.Prefix, AccessMode: t.mode(), Checks: Checks(t.mode())}
	switch t.Provider {
	case gcs.Name:
		g.GCS = gcsGuidance(t)
	case azure.Name:
		g.Azure = azureGuidance(t)
	default:
		g.AWS = awsGuidance(t)
	}
	return g
}

// Fix says what a failed check lacks and how to grant it. Missing is
// always set; the other fields are set where the provider has them.
type Fix struct {
	// Missing names what is missing in the provider's words: IAM actions
	// ("s3:GetObject", "kms:Decrypt", "sts:AssumeRole"), GCS permissions
	// ("storage.objects.get"), Azure SAS permissions ("SAS permission r").
	Missing []string `json:"missing"`
	// Role is a predefined role that grants Missing (GCS; Azure RBAC, for
	// the signer of a user delegation SAS).
	Role string `json:"role,omitempty"`
	// Statement is, for aws_s3 and s3_compatible, the policy statement to
	// add: to the permissions policy (of the user or role), or to the
	// role's trust policy for role_not_assumable, or to the key policy for
	// kms_access_denied.
	Statement *Statement `json:"statement,omitempty"`
	// Command grants Missing (gcloud, az), with the parts bucketlink does
	// not know in capitals (SERVICE_ACCOUNT_EMAIL).
	Command string `json:"command,omitempty"`
	// Note says where the fix goes, or what else may be the cause.
	Note string `json:"note,omitempty"`
}

// The check codes that have a fix, as package verify spells them (a test
// holds them equal to its constants).
const (
	CodeAccessDenied     = "access_denied"
	CodeBucketNotFound   = "bucket_not_found"
	CodeRoleNotAssumable = "role_not_assumable"
	CodeKMSAccessDenied  = "kms_access_denied"
)

// FixFor returns the fix of check failing with code on t, or nil when the
// failure is not a missing grant (a wrong key, region or endpoint) or t's
// provider has nothing to grant for it (an Azure account key).
//
//   - access_denied: the grant of the check (for presign, write's);
//   - bucket_not_found on list (a missing bucket and a closed one answer
//     alike): the list grant, noting the bucket may not exist;
//   - role_not_assumable: the trust policy statement (aws_s3 iam_role);
//   - kms_access_denied: kms:GenerateDataKey to write, kms:Decrypt to
//     read, on t.KMSKeyARN.
func FixFor(t Target, check, code string) *Fix {
	switch code {
	case CodeAccessDenied:
	case CodeBucketNotFound:
		if check != CheckList {
			return nil
		}
	case CodeRoleNotAssumable:
		if t.Provider != s3.NameAWS {
			return nil
		}
		return trustFix(t)
	case CodeKMSAccessDenied:
		return kmsFix(t, check)
	default:
		return nil
	}
	if check == CheckPresign {
		check = CheckWrite
	}
	if !known(check) {
		return nil
	}
	var f *Fix
	switch t.Provider {
	case gcs.Name:
		f = gcsFix(t, check)
	case azure.Name:
		switch {
		case t.AzurePrincipal:
			f = azurePrincipalFix(t, check)
		case t.AzureSAS:
			f = azureFix(t, check)
		default:
			return nil
		}
	default:
		f = awsFix(t, check)
	}
	if code == CodeBucketNotFound {
		f.Note = "Check that the bucket exists; if it does, " + lowerFirst(f.Note)
	}
	return f
}

func known(check string) bool {
	switch check {
	case CheckList, CheckRead, CheckWrite, CheckDelete:
		return true
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
