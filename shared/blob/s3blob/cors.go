package s3blob

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/blob"
)

var _ blob.CORSReader = (*Bucket)(nil)

// CORS implements blob.CORSReader with GetBucketCors, which needs
// s3:GetBucketCORS. A bucket without a CORS configuration (S3 answers
// NoSuchCORSConfiguration; so does MinIO, which has no bucket CORS and
// answers preflights from its server-wide api cors_allow_origin) has no
// rules. S3's rule IDs are not kept.
func (b *Bucket) CORS(ctx context.Context) ([]blob.CORSRule, error) {
	out, err := b.client.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b.name)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchCORSConfiguration" {
		return []blob.CORSRule{}, nil
	}
	if err != nil {
		return nil, b.wrap("cors", err)
	}
	rules := make([]blob.CORSRule, 0, len(out.CORSRules))
	for _, r := range out.CORSRules {
		rule := blob.CORSRule{
			AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders, ExposedHeaders: r.ExposeHeaders,
		}
		if r.MaxAgeSeconds != nil {
			rule.MaxAgeSeconds = int(*r.MaxAgeSeconds)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}
