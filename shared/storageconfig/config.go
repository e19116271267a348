// Package storageconfig is the domain of bucketlink: a storage config (the
// connection to one customer bucket), its validation and normalisation, and
// the wire shapes of the storage-configs API. It knows nothing about HTTP.
package storageconfig

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Provider names a storage backend, as the API spells it.
type Provider string

// The providers this release supports.
const (
	ProviderAWSS3        Provider = "aws_s3"
	ProviderS3Compatible Provider = "s3_compatible"
	ProviderGCStorage    Provider = "gc_storage"
	ProviderAzureBlob    Provider = "azure_blob"
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

// GCSAuthMethod is how bucketlink authenticates to a Google Cloud Storage
// bucket.
type GCSAuthMethod string

// GCS auth methods: a service-account JSON key (the JSON API), or an HMAC
// interoperability key pair (the S3-compatible XML API at
// https://storage.googleapis.com).
const (
	GCSAuthServiceAccount GCSAuthMethod = "service_account"
	GCSAuthHMAC           GCSAuthMethod = "hmac"
)

// Config is one stored connection to a customer's bucket. Credentials are
// never held here in plain text: Sealed is the envelope produced by a
// seal.Sealer, bound to (OrgID, UID).
type Config struct {
	UID string // UUID v4, lower case
	// ID is the config's integer id: what the bucket-verify API calls
	// bucketId. Stores assign it on create from one global sequence, so an
	// id names one config across all orgs and is never reused.
	ID    int64
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

	GCStorageBucketName string
	GCStoragePrefix     string // normalised: "" or "a/b/"
	GCStorageAuthMethod GCSAuthMethod

	AzureAccountName   string
	AzureContainerName string
	AzurePrefix        string // normalised: "" or "a/b/"
	// AzureEndpointURL is the effective blob endpoint, always set, with a
	// trailing slash: the one the user gave (a sovereign cloud, Azurite),
	// or https://{account}.blob.core.windows.net/.
	AzureEndpointURL string

	IsVerified     bool
	LastVerifiedAt time.Time // zero: never
	CreatedAt      time.Time // UTC, microsecond precision
	UpdatedAt      time.Time

	// ReverifyInterval is how often the config is re-tested on a schedule
	// (reverify_interval_seconds); 0 means never: re-verification is off.
	// NextReverifyAt is when the next scheduled re-test is due, zero
	// exactly when re-verification is off. ReverifyFailures counts the
	// verifications that failed in a row; it sets the backoff. See
	// reverify.go.
	ReverifyInterval time.Duration
	NextReverifyAt   time.Time
	ReverifyFailures int

	// Version is incremented by every successful update; stores use it for
	// optimistic concurrency.
	Version int64

	// Sealed holds the sealed Credentials. Stores keep it with the row and
	// destroy it with the row.
	Sealed []byte
}

// Bucket returns the name of the config's bucket (the container, for
// azure_blob).
func (c *Config) Bucket() string {
	switch c.Provider {
	case ProviderGCStorage:
		return c.GCStorageBucketName
	case ProviderAzureBlob:
		return c.AzureContainerName
	}
	return c.S3BucketName
}

// Prefix returns the config's normalised key prefix, whatever the provider.
func (c *Config) Prefix() string {
	switch c.Provider {
	case ProviderGCStorage:
		return c.GCStoragePrefix
	case ProviderAzureBlob:
		return c.AzurePrefix
	}
	return c.S3BucketPrefix
}

// Credentials are the secrets of a config. They exist in plain text only in
// memory, between a request (or Open) and the provider client. Which fields
// are set depends on the provider and auth method:
//
//   - aws_s3 and s3_compatible with access_key: AccessKeyID and
//     SecretAccessKey (iam_role: none);
//   - gc_storage with service_account: ServiceAccountJSON; with hmac:
//     AccessKeyID (the HMAC access ID) and SecretAccessKey (its secret);
//   - azure_blob: AzureAccountKey or AzureSASToken, never both.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	// ServiceAccountJSON is the content of a Google service-account JSON
	// key.
	ServiceAccountJSON string `json:"service_account_json,omitempty"`
	// AzureAccountKey is a storage account access key (base64).
	AzureAccountKey string `json:"azure_account_key,omitempty"`
	// AzureSASToken is a shared access signature, without a leading '?'.
	AzureSASToken string `json:"azure_sas_token,omitempty"`
}

// Secrets returns the secret strings of c, for redaction checks: every
// secret field, and the parts of them that a message could quote on their
// own (the private key of a service-account key and its PEM lines, the
// signature of a SAS token).
func (c Credentials) Secrets() []string {
	var out []string
	add := func(s string, minLen int) {
		if s = strings.TrimSpace(s); s != "" && len(s) >= minLen {
			out = append(out, s)
		}
	}
	add(c.SecretAccessKey, 1)
	add(c.ServiceAccountJSON, 1)
	if c.ServiceAccountJSON != "" {
		var sa struct {
			PrivateKey string `json:"private_key"`
		}
		if json.Unmarshal([]byte(c.ServiceAccountJSON), &sa) == nil {
			add(sa.PrivateKey, 1)
			for _, line := range strings.Split(sa.PrivateKey, "\n") {
				if !strings.HasPrefix(line, "-----") {
					add(line, minPartLen)
				}
			}
		}
	}
	add(c.AzureAccountKey, 1)
	add(c.AzureSASToken, 1)
	for _, kv := range strings.Split(c.AzureSASToken, "&") {
		if v, ok := strings.CutPrefix(kv, "sig="); ok {
			add(v, minPartLen)
			if dec, err := url.QueryUnescape(v); err == nil && dec != v {
				add(dec, minPartLen)
			}
		}
	}
	return out
}

// minPartLen is the shortest part of a secret that Secrets lists on its
// own: shorter ones could match ordinary text.
const minPartLen = 16

// Now returns the current time as configs store it: UTC, microseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
