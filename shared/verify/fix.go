package verify

import (
	"errors"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/policy"
)

// fixOf is the fix of check name, failed with code for err: what package
// policy says the check lacks (an action, permission or role, and for S3
// the statement to add) for r's config, or nil when the failure is not a
// missing grant.
func fixOf(r *run, name, code string, err error) *policy.Fix {
	var sp *azrules.SASProblem
	if errors.As(err, &sp) && sp.Kind != azrules.ProblemMissingPermission {
		// A SAS token of another scope lacks no permission.
		return nil
	}
	t := policy.TargetOf(r.cfg, r.creds)
	var be *blob.Error
	if errors.As(err, &be) {
		t.KMSKeyARN = be.KMSKey
	}
	return policy.FixFor(t, name, code)
}
