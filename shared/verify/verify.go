// Package verify runs the connectivity checks against a bucket and turns
// their outcome into check results with stable codes and into field errors
// in the storage-configs API's documented shape.
package verify

import (
	"context"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// Result is the outcome of a verification. Errors is empty exactly when
// every check passed.
type Result struct {
	Checks []verification.Check
	Errors errcode.FieldErrors
	// Sample holds what the list check saw (used by the bucket-verify API).
	Sample []blob.Object
	// CORS is the outcome of the cors check (CheckCORS) when app origins
	// are known (the config's cors_origins, or the operator's): what a
	// browser at each may do, and the fix. It never changes Verified: a
	// CORS problem is a warning. nil when no origins are known, for a
	// read_only config, or when the lane did not finish within the
	// deadline.
	CORS *corscheck.Report
}

// Verified reports whether every check passed.
func (r Result) Verified() bool { return len(r.Errors) == 0 }

// Opener builds a blob.Bucket for a config from the credentials the user
// gave for it. It must never fall back to ambient credentials.
type Opener interface {
	Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error)
}
