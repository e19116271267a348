// Package storageconfig is the domain of bucketlink: a storage config (the
// connection to one customer bucket), its validation and normalisation, and
// the wire shapes of the storage-configs API. It knows nothing about HTTP.
package storageconfig

import (
	"time"
)

// Provider names a storage backend, as the API spells it.
type Provider string

// The providers this release supports.
const (
	ProviderAWSS3        Provider = "aws_s3"
	ProviderS3Compatible Provider = "s3_compatible"
)

// IsS3 reports whether the provider speaks the S3 API.
func (p Provider) IsS3() bool { return p == ProviderAWSS3 || p == ProviderS3Compatible }

// S3AuthMethod is how bucketlink authenticates to an S3 bucket.
type S3AuthMethod string

// Auth methods: an access key pair of the customer's, or (aws_s3 only) an
// IAM role of the customer's that bucketlink assumes through STS.
const (
	AuthAccessKey S3AuthMethod = "access_key"
	AuthIAMRole   S3AuthMethod = "iam_role"
)

// Config is one stored connection to a customer's bucket. Credentials are
// never held here in plain text: Sealed is the envelope produced by a
// seal.Sealer, bound to (OrgID, UID).
type Config struct {
	UID   string // UUID v4, lower case
	OrgID int64
	Name  string

	Provider Provider

	S3BucketName            string
	S3BucketRegion          string
	S3BucketPrefix          string // normalised: "" or "a/b/"
	S3IsAccelerated         bool
	S3CloudfrontDomain      string
	S3CloudfrontPublicKeyID string
	S3AuthMethod            S3AuthMethod
	S3RoleARN               string
	S3EndpointURL           string // s3_compatible only
	S3UsePathStyle          bool   // s3_compatible only

	IsVerified     bool
	LastVerifiedAt time.Time // zero: never
	CreatedAt      time.Time // UTC, microsecond precision
	UpdatedAt      time.Time

	// Version is incremented by every successful update; stores use it for
	// optimistic concurrency.
	Version int64

	// Sealed holds the sealed Credentials. Stores keep it with the row and
	// destroy it with the row.
	Sealed []byte
}

// Credentials are the secrets of a config. They exist in plain text only in
// memory, between a request (or Open) and the provider client.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// Secrets returns the secret strings of c, for redaction checks.
func (c Credentials) Secrets() []string {
	var out []string
	for _, s := range []string{c.SecretAccessKey} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Now returns the current time as configs store it: UTC, microseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
