package verify

// Check names, in the order Result.Checks lists them.
const (
	CheckList   = "list"
	CheckRead   = "read"
	CheckWrite  = "write"
	CheckDelete = "delete"
	// CheckPresign signs a PUT URL for a key under the prefix; only
	// VerifyBucket runs it.
	CheckPresign = "presign"
)

// Stable check codes.
const (
	CodeOK                  = "ok"
	CodeSkipped             = "skipped"
	CodeInvalidAccessKey    = "invalid_access_key"
	CodeSignatureMismatch   = "signature_mismatch"
	CodeBucketNotFound      = "bucket_not_found"
	CodeAccessDenied        = "access_denied"
	CodeWrongRegion         = "wrong_region"
	CodeEndpointUnreachable = "endpoint_unreachable"
	CodeEndpointBlocked     = "endpoint_blocked"
	CodeTLSError            = "tls_error"
	CodeProviderError       = "provider_error"
	// CodeRoleNotAssumable: STS refused to let bucketlink assume the
	// config's role (iam_role).
	CodeRoleNotAssumable = "role_not_assumable"
	// CodeSTSUnavailable: STS could not be asked for the role's
	// credentials; not the role's fault.
	CodeSTSUnavailable = "sts_unavailable"
)

// The request fields that field errors name.
const (
	FieldAccessKeyID     = "s3_access_key_id"
	FieldSecretAccessKey = "s3_secret_access_key"
	FieldBucketName      = "s3_bucket_name"
	FieldBucketRegion    = "s3_bucket_region"
	FieldEndpointURL     = "s3_endpoint_url"
	FieldRoleARN         = "s3_role_arn"
)

// blockedError is implemented by netguard's error for a dial to an address
// bucketlink may not connect to.
type blockedError interface {
	error
	BlockedAddress() string
}

// roleError is implemented by awsrole's error for a failed AssumeRole of
// an iam_role config.
type roleError interface {
	error
	// RoleNotAssumable reports that STS refused the role; false means STS
	// was unavailable.
	RoleNotAssumable() bool
}

// providerCoder is implemented by provider API errors (smithy.APIError,
// and the other SDKs' equivalents) that carry the provider's error code.
type providerCoder interface {
	ErrorCode() string
}
