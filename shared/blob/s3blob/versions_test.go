package s3blob_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
)

// These tests run on MinIO, which keeps versions and enforces Object Lock
// retention and legal holds as S3 does.

// root is an S3 client of MinIO's root user, for what testenv's helpers do
// not do: versioning, Object Lock, listing versions.
func root(t *testing.T, m *testenv.MinIO) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region: m.Region, BaseEndpoint: aws.String(m.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(m.RootUser, m.RootPassword, ""),
		HTTPClient:  &http.Client{},
	})
}

// versionedBucket creates a bucket with versioning on.
func versionedBucket(t *testing.T, m *testenv.MinIO) string {
	t.Helper()
	name := testenv.BucketName(t, "ver")
	m.CreateBucket(t, name)
	_, err := root(t, m).PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("enable versioning: %v", err)
	}
	return name
}

// lockedBucket creates a bucket with Object Lock (and so versioning) on,
// and with the default retention, when given.
func lockedBucket(t *testing.T, m *testenv.MinIO, def *types.DefaultRetention) string {
	t.Helper()
	name := testenv.BucketName(t, "lock")
	c := root(t, m)
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("create bucket with object lock: %v", err)
	}
	if def != nil {
		_, err := c.PutObjectLockConfiguration(t.Context(), &s3.PutObjectLockConfigurationInput{
			Bucket: aws.String(name),
			ObjectLockConfiguration: &types.ObjectLockConfiguration{
				ObjectLockEnabled: types.ObjectLockEnabledEnabled,
				Rule:              &types.ObjectLockRule{DefaultRetention: def},
			},
		})
		if err != nil {
			t.Fatalf("set default retention: %v", err)
		}
	}
	return name
}

// versions lists every version and delete marker of key as root.
func versions(t *testing.T, m *testenv.MinIO, bucket, key string) (versions, markers int) {
	t.Helper()
	out, err := root(t, m).ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list versions: %v", err)
	}
	return len(out.Versions), len(out.DeleteMarkers)
}

// userBucket opens bucket as a new MinIO user with policy.
func userBucket(t *testing.T, m *testenv.MinIO, bucket, policy string) *s3blob.Bucket {
	t.Helper()
	id, secret := testenv.NewCredentials(t)
	m.AddUser(t, id, secret, policy)
	b, err := s3blob.New(s3blob.Options{
		Bucket: bucket, Region: m.Region, AccessKeyID: id, SecretAccessKey: secret,
		Endpoint: m.Endpoint, UsePathStyle: true, HTTPClient: &http.Client{},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestVersionedProbeLeavesNothing(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := versionedBucket(t, m)
	b := userBucket(t, m, bucket, testenv.ReadWritePolicy(bucket))
	ctx := t.Context()

	// What a plain Delete leaves on a versioned bucket: the data, as a
	// noncurrent version under a delete marker.
	if err := b.Put(ctx, "plain", []byte("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := b.Delete(ctx, "plain"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v, dm := versions(t, m, bucket, "plain"); v != 1 || dm != 1 {
		t.Fatalf("after a plain Delete: %d versions, %d delete markers; want 1 and 1 (the premise of this test)", v, dm)
	}

	w, err := b.PutVersion(ctx, "probe", []byte("x"))
	if err != nil {
		t.Fatalf("PutVersion: %v", err)
	}
	if w.Version == "" {
		t.Fatal("PutVersion on a versioned bucket returned no version id")
	}
	if err := b.DeleteVersion(ctx, "probe", w.Version); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if v, dm := versions(t, m, bucket, "probe"); v != 0 || dm != 0 {
		t.Fatalf("after DeleteVersion: %d versions, %d delete markers left; want none", v, dm)
	}
}

func TestUnversionedPutHasNoVersion(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := testenv.BucketName(t, "plain")
	m.CreateBucket(t, bucket)
	b := userBucket(t, m, bucket, testenv.ReadWritePolicy(bucket))
	w, err := b.PutVersion(t.Context(), "probe", []byte("x"))
	if err != nil || w.Version != "" {
		t.Fatalf("PutVersion = %+v, %v; want no version", w, err)
	}
	if err := b.DeleteVersion(t.Context(), "probe", ""); err != nil {
		t.Fatalf("DeleteVersion without a version: %v", err)
	}
	if _, ok := m.GetObject(t, bucket, "probe"); ok {
		t.Fatal("the object is still there")
	}
}

func TestRetainedProbe(t *testing.T) {
	m := testenv.SharedMinIO(t)
	governance := &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}
	tests := []struct {
		name string
		// extra are object actions the user has besides reading, writing
		// and deleting; bucketExtra bucket actions besides listing.
		extra, bucketExtra []string
		legalHold          bool
		want               blob.Retention
	}{
		{
			name: "retention not readable",
			want: blob.Retention{Hidden: true},
		},
		{
			name:  "object retention readable",
			extra: []string{"s3:GetObjectRetention"},
			want:  blob.Retention{Mode: "GOVERNANCE", Until: time.Now().AddDate(0, 0, 1), Hidden: true},
		},
		{
			name:        "bucket default readable",
			bucketExtra: []string{"s3:GetBucketObjectLockConfiguration"},
			want:        blob.Retention{Mode: "GOVERNANCE", Until: time.Now().AddDate(0, 0, 1), FromBucketDefault: true, Hidden: true},
		},
		{
			name:      "legal hold",
			extra:     []string{"s3:GetObjectLegalHold"},
			legalHold: true,
			want:      blob.Retention{LegalHold: true, Hidden: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bucket string
			if tt.legalHold {
				bucket = lockedBucket(t, m, nil)
			} else {
				bucket = lockedBucket(t, m, governance)
			}
			policy := testenv.Policy(
				testenv.PolicyStatement{Actions: append([]string{"s3:ListBucket"}, tt.bucketExtra...), Resources: []string{"arn:aws:s3:::" + bucket}},
				testenv.PolicyStatement{
					Actions:   append([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}, tt.extra...),
					Resources: []string{"arn:aws:s3:::" + bucket + "/*"},
				},
			)
			b := userBucket(t, m, bucket, policy)
			ctx := t.Context()
			w, err := b.PutVersion(ctx, "probe", []byte("x"))
			if err != nil {
				t.Fatalf("PutVersion: %v", err)
			}
			if tt.legalHold {
				_, err := root(t, m).PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
					Bucket: aws.String(bucket), Key: aws.String("probe"), VersionId: aws.String(w.Version),
					LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn},
				})
				if err != nil {
					t.Fatalf("set legal hold: %v", err)
				}
			}
			err = b.DeleteVersion(ctx, "probe", w.Version)
			var be *blob.Error
			if !errors.As(err, &be) || be.Code != blob.Retained || be.Retention == nil {
				t.Fatalf("DeleteVersion = %v; want Retained with a retention", err)
			}
			got := *be.Retention
			if d := got.Until.Sub(tt.want.Until).Abs(); d > time.Minute {
				t.Errorf("retention until %s, want about %s", got.Until, tt.want.Until)
			}
			got.Until, tt.want.Until = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("retention = %+v, want %+v", got, tt.want)
			}
			if v, dm := versions(t, m, bucket, "probe"); v != 1 || dm != 1 {
				t.Errorf("%d versions and %d delete markers; want the kept version under one marker", v, dm)
			}
			if keys := m.ListKeys(t, bucket, ""); len(keys) != 0 {
				t.Errorf("listing shows %v; want the kept probe hidden", keys)
			}
			t.Logf("DeleteVersion: %v", err)
		})
	}
}

// TestDeleteVersionDeniedIsNotRetained: a user without delete permission on
// an Object Lock bucket is refused as any user is, not told of retention.
func TestDeleteVersionDeniedIsNotRetained(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := lockedBucket(t, m, nil)
	b := userBucket(t, m, bucket, testenv.PolicyFor(bucket, "s3:GetObject", "s3:PutObject", "s3:GetObjectRetention"))
	w, err := b.PutVersion(t.Context(), "probe", []byte("x"))
	if err != nil {
		t.Fatalf("PutVersion: %v", err)
	}
	if err := b.DeleteVersion(t.Context(), "probe", w.Version); blob.CodeOf(err) != blob.AccessDenied {
		t.Fatalf("DeleteVersion = %v; want AccessDenied", err)
	}
}
