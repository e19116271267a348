package verify

import "github.com/bucketlink/bucketlink/shared/provider/contract"

// Check names, in the order Result.Checks lists them (the providers'
// reports name them too: contract.CheckList, ...).
const (
	CheckList   = contract.CheckList
	CheckRead   = contract.CheckRead
	CheckWrite  = contract.CheckWrite
	CheckDelete = contract.CheckDelete
	// CheckPresign signs a PUT URL for a key under the prefix; only
	// VerifyBucket runs it.
	CheckPresign = contract.CheckPresign
)

// Stable check codes.
const (
	CodeOK                  = "ok"
	CodeSkipped             = "skipped"
	CodeInvalidAccessKey    = contract.CodeInvalidAccessKey
	CodeSignatureMismatch   = contract.CodeSignatureMismatch
	CodeBucketNotFound      = "bucket_not_found"
	CodeAccessDenied        = contract.CodeAccessDenied
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
	CodeSTSUnavailable = contract.CodeSTSUnavailable
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

// impersonationError is implemented by gcsblob's error for a failed
// impersonation of a gc_storage impersonation config's service account.
type impersonationError interface {
	error
	// ImpersonationDenied reports that Google refused to let bucketlink's
	// principal act as the account; false means Google's token services
	// were unavailable (or bucketlink's own identity failed).
	ImpersonationDenied() bool
	// MissingRole names the role the customer grants bucketlink's
	// principal on the account.
	MissingRole() string
}

// providerCoder is implemented by provider API errors (smithy.APIError,
// and the other SDKs' equivalents) that carry the provider's error code.
type providerCoder interface {
	ErrorCode() string
}
