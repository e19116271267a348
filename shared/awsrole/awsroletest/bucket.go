package awsroletest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// CreateBucket creates bucket, with an object at key, on the S3 that cfg
// points at (moto's, directly rather than through a Recorder), with cfg's
// credentials.
func CreateBucket(tb testing.TB, cfg aws.Config, bucket, key string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		tb.Fatalf("awsroletest: create bucket %s: %v", bucket, err)
	}
	if key == "" {
		return
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader("seeded by " + tb.Name())}); err != nil {
		tb.Fatalf("awsroletest: put %s/%s: %v", bucket, key, err)
	}
}
