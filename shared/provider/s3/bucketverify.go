package s3

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// DefaultVerifyRegion is the region of an s3 bucket-verify request that
// gives none.
const DefaultVerifyRegion = "us-east-1"

var verifyFields = map[string]string{
	FieldBucketName:      contract.VerifyBucket,
	FieldBucketRegion:    contract.VerifyRegion,
	FieldBucketPrefix:    contract.VerifyPrefix,
	FieldAccessKeyID:     contract.VerifyAccessKey,
	FieldSecretAccessKey: contract.VerifySecretKey,
	FieldEndpointURL:     contract.VerifyEndpoint,
	// Only a stored config (bucketId) has a role.
	FieldRoleARN: contract.VerifyBucketID,
}

// BucketVerify implements contract.Provider: storageProvider "s3" is
// aws_s3 with an access key pair, "other" s3_compatible with one.
func (p Provider) BucketVerify() *contract.BucketVerify {
	awsFields := map[string]string{}
	for f, api := range verifyFields {
		if f != FieldEndpointURL {
			awsFields[f] = api
		}
	}
	bv := &contract.BucketVerify{
		StorageProvider: "s3", Listed: `"s3" (the default)`, ListOrder: 0,
		Fields: awsFields, HasRegion: true,
		Create: func(r contract.VerifyRequest, errs errcode.FieldErrors) map[string]any {
			if !isAWSEndpoint(r.Endpoint) {
				errs.Add(contract.VerifyEndpoint, "With storageProvider \"s3\" the endpoint is Amazon S3's; leave it out, or use storageProvider \"other\" for another S3-compatible service.")
			}
			if r.Region == "" {
				r.Region = DefaultVerifyRegion
			}
			return createOf(r)
		},
		Normalised: func(s contract.Settings, _ contract.VerifyRequest) (string, string) {
			return s.(*Settings).Region, ""
		},
		CredentialsOf: KeyCredentials,
		AccessKey:     func(_ contract.Settings, creds contract.Credentials) string { return creds[CredAccessKeyID] },
		SameEndpoint: func(_ contract.Settings, endpoint string) bool {
			return isAWSEndpoint(endpoint)
		},
	}
	if p.compatible {
		bv.StorageProvider, bv.Listed, bv.ListOrder = "other", `"other" (any S3-compatible store)`, 3
		bv.Fields, bv.EndpointReplaceable = verifyFields, true
		bv.Create = func(r contract.VerifyRequest, _ errcode.FieldErrors) map[string]any {
			c := createOf(r)
			c[FieldEndpointURL] = r.Endpoint
			return c
		}
		bv.Normalised = func(s contract.Settings, _ contract.VerifyRequest) (string, string) {
			return s.(*Settings).Region, s.(*Settings).Endpoint
		}
		bv.SameEndpoint = func(s contract.Settings, endpoint string) bool {
			e, msg := NormalizeEndpoint(endpoint, true)
			return endpoint == "" || msg == "" && e == s.(*Settings).Endpoint
		}
	}
	return bv
}

// createOf is the create request of a bucket-verify request.
func createOf(r contract.VerifyRequest) map[string]any {
	c := map[string]any{FieldAccessKeyID: r.Creds[CredAccessKeyID], FieldSecretAccessKey: r.Creds[CredSecretAccessKey]}
	if r.HasBucket || r.Bucket != "" {
		c[FieldBucketName] = r.Bucket
	}
	if r.Region != "" {
		c[FieldBucketRegion] = r.Region
	}
	if r.HasPrefix || r.Prefix != "" {
		c[FieldBucketPrefix] = r.Prefix
	}
	return c
}

// isAWSEndpoint accepts no endpoint, or one of Amazon S3's.
func isAWSEndpoint(e string) bool {
	if e == "" {
		return true
	}
	host := contract.HostOf(e)
	return strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
}
