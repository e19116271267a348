package s3blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/blob"
)

var _ blob.Versions = (*Bucket)(nil)

// PutVersion implements blob.Versions. It sends Content-MD5, which S3
// requires of every write to a bucket with a default Object Lock retention
// ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object
// requests with Object Lock parameters"), and which every S3-compatible
// store accepts.
func (b *Bucket) PutVersion(ctx context.Context, key string, data []byte) (blob.Written, error) {
	sum := md5.Sum(data)
	out, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		return blob.Written{}, b.wrap("put", err)
	}
	var w blob.Written
	// "null" is the version of a write while versioning is suspended: the
	// object has no version of its own.
	if v := aws.ToString(out.VersionId); v != "null" {
		w.Version = v
	}
	switch out.ServerSideEncryption {
	case types.ServerSideEncryptionAwsKms, types.ServerSideEncryptionAwsKmsDsse:
		w.KMSKey = aws.ToString(out.SSEKMSKeyId)
	}
	return w, nil
}

// DeleteVersion implements blob.Versions with DeleteObject of the version
// (which AWS allows with s3:DeleteObjectVersion). A refusal for Object
// Lock is Retained: with the retention HeadObject of the version reports
// (when the credentials have s3:GetObjectRetention), else the bucket's
// default retention (with s3:GetBucketObjectLockConfiguration), else an
// empty Retention; then a plain DeleteObject puts a delete marker over the
// kept version so that listings no longer show it. A plain AccessDenied is
// Retained too when HeadObject shows a retention in force.
func (b *Bucket) DeleteVersion(ctx context.Context, key, version string) error {
	if version == "" {
		return b.Delete(ctx, key)
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.name), Key: aws.String(key), VersionId: aws.String(version),
	})
	if err == nil {
		return nil
	}
	e := b.wrap("delete", err).(*blob.Error)
	if e.Code != blob.AccessDenied && e.Code != blob.Retained {
		return e
	}
	r, kept := b.retention(ctx, key, version, e.Code == blob.Retained)
	if !kept {
		return e
	}
	e.Code, e.Retention = blob.Retained, r
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	r.Hidden = err == nil
	return e
}

// lockRefusal reports S3's answer to deleting a version Object Lock
// keeps: AWS's 403 AccessDenied "Access Denied because object protected by
// object lock." (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html),
// or MinIO's 400 InvalidRequest "Object is WORM protected and cannot be
// overwritten".
func lockRefusal(ae smithy.APIError) bool {
	msg := strings.ToLower(ae.ErrorMessage())
	switch ae.ErrorCode() {
	case "AccessDenied":
		return strings.Contains(msg, "object lock")
	case "InvalidRequest", "ObjectLocked":
		return strings.Contains(msg, "worm") || strings.Contains(msg, "object lock")
	}
	return false
}

// retention says what keeps version of key, as far as the credentials may
// read it; kept is false when nothing shows a retention and known (the
// answer to the delete said Object Lock) is false.
func (b *Bucket) retention(ctx context.Context, key, version string, known bool) (r *blob.Retention, kept bool) {
	r = &blob.Retention{}
	var written time.Time
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(b.name), Key: aws.String(key), VersionId: aws.String(version),
	})
	if err == nil {
		written = aws.ToTime(head.LastModified)
		if until := aws.ToTime(head.ObjectLockRetainUntilDate); head.ObjectLockMode != "" && until.After(time.Now()) {
			r.Mode, r.Until = string(head.ObjectLockMode), until
		}
		r.LegalHold = head.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn
	}
	if r.Mode != "" || r.LegalHold {
		return r, true
	}
	if !known {
		return nil, false
	}
	b.defaultRetention(ctx, r, written)
	return r, true
}

// defaultRetention fills r with the bucket's default retention, counted
// from written (now when unknown), if the credentials may read it.
func (b *Bucket) defaultRetention(ctx context.Context, r *blob.Retention, written time.Time) {
	out, err := b.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b.name)})
	if err != nil || out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.Rule == nil ||
		out.ObjectLockConfiguration.Rule.DefaultRetention == nil {
		return
	}
	d := out.ObjectLockConfiguration.Rule.DefaultRetention
	if written.IsZero() {
		written = time.Now()
	}
	r.Mode, r.FromBucketDefault = string(d.Mode), true
	switch {
	case aws.ToInt32(d.Days) > 0:
		r.Until = written.AddDate(0, 0, int(aws.ToInt32(d.Days)))
	case aws.ToInt32(d.Years) > 0:
		r.Until = written.AddDate(int(aws.ToInt32(d.Years)), 0, 0)
	}
}
