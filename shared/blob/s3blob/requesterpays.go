package s3blob

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// RequesterPaysHeader is the header, as "Name: value", with which a request
// to a requester-pays bucket accepts the charge.
const RequesterPaysHeader = "x-amz-request-payer: requester"

// Requester-pays buckets: S3 answers a request from anyone but the bucket's
// owner that lacks the header with a plain 403 AccessDenied, "Access
// Denied", like any refusal (see
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RequesterPaysBuckets.html
// and
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ObjectsinRequesterPaysBuckets.html).
// So when a listing is refused, List asks once more with the header: if
// that listing is allowed, the bucket makes the requester pay (the one
// listing of at most one key is charged to these credentials' account),
// the refusal is RequesterPays, and so is every later AccessDenied of the
// Bucket.

// listPaying reports whether in, sent again with the header, is allowed;
// if it is, the Bucket remembers that the bucket is requester-pays.
func (b *Bucket) listPaying(ctx context.Context, in *s3.ListObjectsV2Input) bool {
	again := *in
	again.MaxKeys = aws.Int32(1)
	again.RequestPayer = types.RequestPayerRequester
	if _, err := b.client.ListObjectsV2(ctx, &again); err != nil {
		return false
	}
	b.requesterPays.Store(true)
	return true
}

// markRequesterPays turns e, an AccessDenied, into RequesterPays.
func markRequesterPays(e *blob.Error) {
	e.Code, e.RequestHeader = blob.RequesterPays, RequesterPaysHeader
}
