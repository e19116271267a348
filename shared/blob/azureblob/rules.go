package azureblob

import "github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"

// The SDK-free rules live in package azrules, so that validation and the
// verifier can use them without linking the Azure SDK. They are re-exported
// here for callers of the driver.

// SAS token types; see azrules.
type (
	SASInfo     = azrules.SASInfo
	Access      = azrules.Access
	ProblemKind = azrules.ProblemKind
	SASProblem  = azrules.SASProblem
)

// Accesses and problem kinds; see azrules.
const (
	AccessList   = azrules.AccessList
	AccessRead   = azrules.AccessRead
	AccessWrite  = azrules.AccessWrite
	AccessDelete = azrules.AccessDelete

	ProblemMalformed         = azrules.ProblemMalformed
	ProblemExpired           = azrules.ProblemExpired
	ProblemNotYetValid       = azrules.ProblemNotYetValid
	ProblemMissingPermission = azrules.ProblemMissingPermission
	ProblemWrongScope        = azrules.ProblemWrongScope
)

// SAS problem sentinels; see azrules.
var (
	ErrSASMalformed         = azrules.ErrSASMalformed
	ErrSASExpired           = azrules.ErrSASExpired
	ErrSASNotYetValid       = azrules.ErrSASNotYetValid
	ErrSASMissingPermission = azrules.ErrSASMissingPermission
	ErrSASWrongScope        = azrules.ErrSASWrongScope
)

// ParseSAS reads a SAS token without connecting; see azrules.ParseSAS.
func ParseSAS(token string) (SASInfo, error) { return azrules.ParseSAS(token) }

// Endpoint returns the blob endpoint of account; see azrules.Endpoint.
func Endpoint(account, override string) string { return azrules.Endpoint(account, override) }

// ValidateEndpoint checks an endpoint override; see azrules.ValidateEndpoint.
func ValidateEndpoint(s string) error { return azrules.ValidateEndpoint(s) }

// ValidateAccountName checks a storage account name; see azrules.
func ValidateAccountName(name string) error { return azrules.ValidateAccountName(name) }

// ValidateContainerName checks a container name; see azrules.
func ValidateContainerName(name string) error { return azrules.ValidateContainerName(name) }
