package s3blob

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// DiscoverySigningRegion signs the HeadBucket of FindRegion when the caller
// gives no region: any region gets the answer, and us-east-1's endpoint
// serves every bucket name.
const DiscoverySigningRegion = "us-east-1"

// ErrAccelerateDottedName is why New refuses Transfer Acceleration for a
// bucket whose name has dots: the accelerate endpoint is virtual-hosted
// only (bucket.s3-accelerate.amazonaws.com), and a dotted name breaks its
// TLS certificate (*.s3-accelerate.amazonaws.com covers one label), so AWS
// does not accelerate such buckets. Without acceleration, the SDK
// addresses dotted names path-style (s3.region.amazonaws.com/bucket), which
// TLS accepts.
var ErrAccelerateDottedName = errors.New("s3blob: S3 Transfer Acceleration needs a bucket name without dots; turn s3_is_accelerated off for this bucket")

// FindRegion returns the region of opts.Bucket with one HeadBucket request,
// signed for opts.Region (DiscoverySigningRegion when empty) and never
// accelerated. S3 tells a bucket's region in the x-amz-bucket-region header
// of its answer to HeadBucket whatever the caller's permissions: on 200, on
// the 301 of another region's endpoint, on 400 and on 403 alike (see
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html), so
// FindRegion needs neither s3:GetBucketLocation nor s3:ListBucket. A
// missing bucket (404) is NotFound; an answer without the header is the
// error HeadBucket gave, with its code, or Unknown.
func FindRegion(ctx context.Context, opts Options) (string, error) {
	if opts.Region == "" {
		opts.Region = DiscoverySigningRegion
	}
	opts.Accelerate = false
	b, err := New(opts)
	if err != nil {
		return "", err
	}
	out, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.name)})
	if err == nil {
		if r := aws.ToString(out.BucketRegion); r != "" {
			return r, nil
		}
		return "", &blob.Error{Code: blob.Unknown, Op: "region", Err: errNoRegionHeader}
	}
	status := httpStatus(err)
	if r := bucketRegionHeader(err); r != "" && status != http.StatusNotFound {
		return r, nil
	}
	e := b.wrap("region", err).(*blob.Error)
	switch {
	case status == http.StatusNotFound:
		e.Code = blob.NotFound
	case e.Code == blob.WrongRegion && e.Region != "":
		return e.Region, nil
	}
	return "", e
}

var errNoRegionHeader = errors.New("s3blob: HeadBucket answered without x-amz-bucket-region")

// dottedAccelerated reports options New must refuse (ErrAccelerateDottedName).
func dottedAccelerated(opts Options) bool {
	return opts.Accelerate && opts.Endpoint == "" && strings.Contains(opts.Bucket, ".")
}

// Region implements blob.Located: the region requests are signed for.
func (b *Bucket) Region() string { return b.region }

var _ blob.Located = (*Bucket)(nil)
