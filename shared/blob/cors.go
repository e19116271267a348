package blob

import "context"

// CORSRule is one cross-origin rule of a bucket, in a provider-neutral
// shape: GCS bucket CORS entries, Azure Blob service CORS rules and S3
// CORSRules all map to it. An empty slice field means the provider set
// nothing there.
type CORSRule struct {
	// AllowedOrigins are the origins the rule admits ("*" for any).
	AllowedOrigins []string
	// AllowedMethods are HTTP methods such as "GET" and "PUT".
	AllowedMethods []string
	// AllowedHeaders are request headers a browser may send (GCS calls
	// them response headers; Azure and S3 call them allowed headers).
	AllowedHeaders []string
	// ExposedHeaders are response headers a browser may read.
	ExposedHeaders []string
	// MaxAgeSeconds is how long a browser may cache a preflight answer;
	// 0 means unset.
	MaxAgeSeconds int
}

// CORSReader is implemented by drivers whose provider has bucket CORS
// rules. Callers type-assert a Bucket to it.
type CORSReader interface {
	// CORS returns the bucket's CORS rules, in the provider's order. A
	// bucket without rules returns an empty slice and no error. Failures
	// map to the same codes as List: a missing bucket is NotFound, a bucket
	// the credentials may not read the configuration of is AccessDenied.
	CORS(ctx context.Context) ([]CORSRule, error)
}
