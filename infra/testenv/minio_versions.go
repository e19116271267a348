package testenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// CreateVersionedBucket creates a bucket with S3 Versioning on, as root.
func (m *MinIO) CreateVersionedBucket(tb testing.TB, name string) {
	tb.Helper()
	m.CreateBucket(tb, name)
	ctx, cancel := helperCtx(tb)
	defer cancel()
	_, err := m.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		tb.Fatalf("testenv: enable versioning of %s: %v", name, err)
	}
}

// CreateLockedBucket creates a bucket with Object Lock (and so versioning)
// on, as root, whose default retention is mode ("GOVERNANCE" or
// "COMPLIANCE") for days; no default retention when mode is "".
func (m *MinIO) CreateLockedBucket(tb testing.TB, name, mode string, days int32) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if _, err := m.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		tb.Fatalf("testenv: create bucket %s with object lock: %v", name, err)
	}
	if mode == "" {
		return
	}
	_, err := m.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String(name),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{
			ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{
				Mode: types.ObjectLockRetentionMode(mode), Days: aws.Int32(days),
			}},
		},
	})
	if err != nil {
		tb.Fatalf("testenv: default retention of %s: %v", name, err)
	}
}

// ObjectVersions counts the versions and delete markers under prefix, as
// root.
func (m *MinIO) ObjectVersions(tb testing.TB, bucket, prefix string) (versions, deleteMarkers int) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	out, err := m.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		tb.Fatalf("testenv: list versions of %s/%s: %v", bucket, prefix, err)
	}
	return len(out.Versions), len(out.DeleteMarkers)
}
