package s3

import (
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// perms are the S3 actions each check needs.
var perms = map[string]string{
	contract.CheckList:   "s3:ListBucket",
	contract.CheckRead:   "s3:GetObject",
	contract.CheckWrite:  "s3:PutObject",
	contract.CheckDelete: "s3:DeleteObject",
	// A presigned PUT works only for credentials allowed to put.
	contract.CheckPresign: "s3:PutObject",
}

// Report implements contract.Settings.
func (s *Settings) Report(creds contract.Credentials) contract.Report {
	r := contract.Report{
		KeyID: FieldAccessKeyID, Secret: FieldSecretAccessKey, Bucket: FieldBucketName,
		Region: FieldBucketRegion, Endpoint: errcode.NonField, Denied: FieldAccessKeyID, Role: FieldRoleARN,
		MsgInvalidKey: "The access key ID was not recognised by the storage provider.",
		MsgBadSecret:  "The secret access key does not match the access key ID.",
		MsgBucket:     "Bucket not found or access denied.",
		Who:           "These credentials", Are: "are",
		Resource: "arn:aws:s3:::" + s.BucketName + "/" + s.KeyPrefix + "*",
		Grant:    "Grant it in the IAM or bucket policy.",
		Perms:    perms, BucketWord: "bucket",
	}
	if s.Compatible {
		r.Endpoint, r.EndpointURL = FieldEndpointURL, s.Endpoint
	}
	if s.Auth == AuthIAMRole {
		r.Denied = FieldRoleARN
		r.Who, r.Are, r.Grant = "The role", "is", "Grant it in the role's permissions policy or the bucket policy."
		r.MsgTemporaryRejected = "AWS S3 did not accept the temporary credentials of the role; test again, and check that the role still exists."
		return r
	}
	r.Missing = MissingPair(creds, CredAccessKeyID, CredSecretAccessKey,
		contract.Missing{Field: FieldAccessKeyID, Msg: "An access key ID is required."},
		contract.Missing{Field: FieldSecretAccessKey, Msg: "A secret access key is required.", Secret: true})
	return r
}

// MissingPair lists the empty parts of a key pair (the parts idPart and
// secretPart of creds) as id and secret say.
func MissingPair(creds contract.Credentials, idPart, secretPart string, id, secret contract.Missing) []contract.Missing {
	var out []contract.Missing
	if creds[idPart] == "" {
		out = append(out, id)
	}
	if creds[secretPart] == "" {
		out = append(out, secret)
	}
	return out
}
