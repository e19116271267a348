package storageconfig

import (
	"time"
)

// TimeFormat is how every timestamp is written on the wire: UTC ISO 8601 with
// a Z, to the second, as the API documents ("2025-01-15T09:30:00Z").
const TimeFormat = "2006-01-02T15:04:05Z"

// Response is a storage config as the API returns it. The documented fields
// come first; the rest are additions. A field that does not apply to the
// config's provider is null, except s3_is_accelerated, which the spec types
// as a plain boolean and so is false there. Credentials are never part of it.
type Response struct {
	UID string `json:"uid"`
	// ID is additive: the integer id the bucket-verify API calls bucketId.
	ID             int64   `json:"id"`
	Name           string  `json:"name"`
	Provider       string  `json:"provider"`
	S3BucketName   *string `json:"s3_bucket_name"`
	S3BucketRegion *string `json:"s3_bucket_region"`
	S3BucketPrefix *string `json:"s3_bucket_prefix"`
	// S3IsAccelerated is a boolean for every provider, as the spec types
	// it (false for all but aws_s3): clients model it as non-nullable.
	S3IsAccelerated     bool    `json:"s3_is_accelerated"`
	GCStorageBucketName *string `json:"gc_storage_bucket_name"`
	GCStoragePrefix     *string `json:"gc_storage_prefix"`
	IsVerified          bool    `json:"is_verified"`
	LastVerifiedAt      *string `json:"last_verified_at"`
	CreatedAt           string  `json:"created_at"`
	UpdatedAt           string  `json:"updated_at"`

	// Additions to the documented shape.
	S3AuthMethod            *string `json:"s3_auth_method"`
	S3RoleARN               *string `json:"s3_role_arn"`
	S3EndpointURL           *string `json:"s3_endpoint_url"`
	S3UsePathStyle          *bool   `json:"s3_use_path_style"`
	S3CloudfrontDomain      *string `json:"s3_cloudfront_domain"`
	S3CloudfrontPublicKeyID *string `json:"s3_cloudfront_public_key_id"`
	GCStorageAuthMethod     *string `json:"gc_storage_auth_method"`
	AzureAccountName        *string `json:"azure_account_name"`
	AzureContainerName      *string `json:"azure_container_name"`
	AzurePrefix             *string `json:"azure_prefix"`
	// AzureEndpointURL is the effective endpoint: the one given, or
	// https://{account}.blob.core.windows.net/.
	AzureEndpointURL *string `json:"azure_endpoint_url"`
	// ReverifyIntervalSeconds is how often the config is re-tested on a
	// schedule; null when re-verification is off. NextReverifyAt is when
	// the next scheduled test is due (null when off).
	ReverifyIntervalSeconds *int64  `json:"reverify_interval_seconds"`
	NextReverifyAt          *string `json:"next_reverify_at"`
}

// ToResponse renders c in the documented shape.
func ToResponse(c *Config) Response {
	r := Response{
		UID:        c.UID,
		ID:         c.ID,
		Name:       c.Name,
		Provider:   string(c.Provider),
		IsVerified: c.IsVerified,
		CreatedAt:  FormatTime(c.CreatedAt),
		UpdatedAt:  FormatTime(c.UpdatedAt),
	}
	if !c.LastVerifiedAt.IsZero() {
		r.LastVerifiedAt = ptr(FormatTime(c.LastVerifiedAt))
	}
	if c.Reverifies() {
		r.ReverifyIntervalSeconds = ptr(int64(c.ReverifyInterval / time.Second))
		r.NextReverifyAt = ptr(FormatTime(c.NextReverifyAt))
	}
	if c.Provider.IsS3() {
		r.S3BucketName = ptr(c.S3BucketName)
		r.S3BucketRegion = optional(c.S3BucketRegion)
		r.S3BucketPrefix = optional(c.S3BucketPrefix)
		r.S3AuthMethod = ptr(string(c.S3AuthMethod))
		r.S3RoleARN = optional(c.S3RoleARN)
	}
	switch c.Provider {
	case ProviderAWSS3:
		r.S3IsAccelerated = c.S3IsAccelerated
		r.S3CloudfrontDomain = optional(c.S3CloudfrontDomain)
		r.S3CloudfrontPublicKeyID = optional(c.S3CloudfrontPublicKeyID)
	case ProviderS3Compatible:
		r.S3EndpointURL = ptr(c.S3EndpointURL)
		r.S3UsePathStyle = ptr(c.S3UsePathStyle)
	case ProviderGCStorage:
		r.GCStorageBucketName = ptr(c.GCStorageBucketName)
		r.GCStoragePrefix = optional(c.GCStoragePrefix)
		r.GCStorageAuthMethod = ptr(string(c.GCStorageAuthMethod))
	case ProviderAzureBlob:
		r.AzureAccountName = ptr(c.AzureAccountName)
		r.AzureContainerName = ptr(c.AzureContainerName)
		r.AzurePrefix = optional(c.AzurePrefix)
		r.AzureEndpointURL = ptr(c.AzureEndpointURL)
	}
	return r
}

// FormatTime writes t as the API does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
