package awsrole

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Error is a failed AssumeRole. It never holds a secret: STS's answers
// name the role and the caller, never keys.
type Error struct {
	// RoleARN is the role that was asked for.
	RoleARN string
	// Code is STS's error code, such as "AccessDenied"; "" when STS gave no
	// answer.
	Code string
	// Unavailable is set when the failure is not the role's doing: STS
	// could not be reached, timed out, throttled or failed, or refused the
	// service's own credentials.
	Unavailable bool
	Err         error
}

func (e *Error) Error() string {
	what := "role not assumable"
	if e.Unavailable {
		what = "sts unavailable"
	}
	s := "awsrole: assume role " + e.RoleARN + ": " + what
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// RoleNotAssumable reports whether STS refused the role itself: most often
// its trust policy does not trust the service's account or does not
// require the organization's external id, or the role does not exist.
// False means STS was unavailable; retrying later may succeed.
func (e *Error) RoleNotAssumable() bool { return !e.Unavailable }

// notAssumableCodes are STS's answers that mean this role cannot be
// assumed by the service as asked. AssumeRole answers AccessDenied both
// for a trust policy that does not allow it (or requires another external
// id) and for a role that does not exist.
var notAssumableCodes = map[string]bool{
	"AccessDenied":            true,
	"AccessDeniedException":   true,
	"ValidationError":         true, // malformed ARN, or a duration above the role's maximum
	"InvalidParameterValue":   true,
	"MalformedPolicyDocument": true,
	"NoSuchEntity":            true,
}

// newError classifies err, a failure of the cached AssumeRole provider.
// Every other API error (Throttling, RegionDisabledException, and the
// service's own credentials being refused: InvalidClientTokenId,
// ExpiredToken, SignatureDoesNotMatch) and every transport failure makes
// STS unavailable for this purpose.
func newError(arn string, err error) *Error {
	e := &Error{RoleARN: arn, Unavailable: true, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
		e.Unavailable = !notAssumableCodes[e.Code]
	}
	return e
}
