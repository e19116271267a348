package s3blob

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// DefaultCompatibleRegion signs requests to an S3-compatible store whose
// config names no region.
const DefaultCompatibleRegion = "us-east-1"

// Opener opens S3 buckets for storage configs. It implements verify.Opener.
type Opener struct {
	// HTTPClient carries every request; required.
	HTTPClient *http.Client
	// AWSEndpoint, when set (BUCKETLINK_AWS_S3_ENDPOINT), sends all aws_s3
	// traffic to this endpoint with path-style addressing instead of to
	// AWS, e.g. to a MinIO in development.
	AWSEndpoint string
}

// Open returns a Bucket for c with creds. It does no network I/O.
func (o *Opener) Open(_ context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	opts := Options{
		Bucket:          c.S3BucketName,
		Region:          c.S3BucketRegion,
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		HTTPClient:      o.HTTPClient,
	}
	switch c.Provider {
	case storageconfig.ProviderAWSS3:
		if o.AWSEndpoint != "" {
			opts.Endpoint, opts.UsePathStyle = o.AWSEndpoint, true
		} else {
			opts.Accelerate = c.S3IsAccelerated
		}
	case storageconfig.ProviderS3Compatible:
		if c.S3EndpointURL == "" {
			return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: ErrBadEndpoint}
		}
		opts.Endpoint, opts.UsePathStyle = c.S3EndpointURL, c.S3UsePathStyle
		if opts.Region == "" {
			opts.Region = DefaultCompatibleRegion
		}
	default:
		return nil, fmt.Errorf("s3blob: open: provider %q is not an S3 provider", c.Provider)
	}
	b, err := New(opts)
	if errors.Is(err, ErrBadEndpoint) {
		// The endpoint cannot be reached as given.
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("s3blob: open %s: %w", c.Provider, err)
	}
	return b, nil
}
