package s3blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/blob"
)

var _ blob.WriteChecker = (*Bucket)(nil)

// MayWrite implements blob.WriteChecker with a PutObject of key whose
// Content-MD5 is that of other bytes than the body. S3 (and MinIO)
// authorise a PutObject on its headers before they read the body, so a
// refused write is AccessDenied and an allowed one is 400 BadDigest, with
// nothing stored either way (see the BadDigest and AccessDenied codes of
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
// A store that ignores Content-MD5 and stores the object has it deleted
// again at once.
func (b *Bucket) MayWrite(ctx context.Context, key string) (bool, error) {
	body := []byte("bucketlink write check; never stored\n")
	other := md5.Sum(nil)
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(other[:])),
	})
	var ae smithy.APIError
	switch {
	case err == nil:
		// Stored despite the digest: take it back.
		if err := b.Delete(ctx, key); err != nil {
			return true, err
		}
		return true, nil
	case errors.As(err, &ae) && (ae.ErrorCode() == "BadDigest" || ae.ErrorCode() == "InvalidDigest"):
		return true, nil
	}
	werr := b.wrap("put", err)
	if blob.CodeOf(werr) == blob.AccessDenied {
		return false, nil
	}
	return false, werr
}
