package verification

import "github.com/bucketlink/bucketlink/shared/policy"

// Check is the outcome of one check of a bucket (package verify runs
// them). Code is stable and machine-readable; Message is for a person and
// says what to fix. Neither ever holds a secret.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Fix (an addition) is set on a check that failed for a missing grant:
	// it names the missing action, permission or role and, for S3, the
	// policy statement to add (package policy). It holds no secret.
	Fix *policy.Fix `json:"fix,omitempty"`
}
