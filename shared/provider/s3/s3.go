// Package s3 is the S3 family of providers: aws_s3 (Amazon S3, with an
// access key or an IAM role bucketlink assumes) and s3_compatible (any
// store that speaks the S3 API at an endpoint the user gives). It owns
// their fields, validation, credentials, check report and bucket-verify
// mapping; package s3open opens their buckets.
package s3

import (
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// The providers' wire names.
const (
	NameAWS        = "aws_s3"
	NameCompatible = "s3_compatible"
)

// Auth methods: an access key pair of the customer's, or (aws_s3 only) an
// IAM role of the customer's that bucketlink assumes through STS.
const (
	AuthAccessKey = "access_key"
	AuthIAMRole   = "iam_role"
)

// The request fields of the family.
const (
	FieldBucketName      = "s3_bucket_name"
	FieldBucketRegion    = "s3_bucket_region"
	FieldBucketPrefix    = "s3_bucket_prefix"
	FieldIsAccelerated   = "s3_is_accelerated"
	FieldAuthMethod      = "s3_auth_method"
	FieldRoleARN         = "s3_role_arn"
	FieldEndpointURL     = "s3_endpoint_url"
	FieldUsePathStyle    = "s3_use_path_style"
	FieldCloudfrontDom   = "s3_cloudfront_domain"
	FieldCloudfrontKeyID = "s3_cloudfront_public_key_id"
	FieldAccessKeyID     = "s3_access_key_id"
	FieldSecretAccessKey = "s3_secret_access_key"
)

// The parts of the credentials (as sealed).
const (
	CredAccessKeyID     = "access_key_id"
	CredSecretAccessKey = "secret_access_key"
)

// fields is the family's table, in wire order.
var fields = []contract.Field{
	{Name: FieldBucketName, Documented: true},
	{Name: FieldBucketRegion, Documented: true},
	{Name: FieldBucketPrefix, Documented: true},
	{Name: FieldIsAccelerated, Kind: contract.Bool, Documented: true, FalseWhenAbsent: true, Only: NameAWS},
	{Name: FieldAuthMethod, Auth: true, AuthMethod: true},
	{Name: FieldRoleARN, Auth: true},
	{Name: FieldEndpointURL, Only: NameCompatible},
	{Name: FieldUsePathStyle, Kind: contract.Bool, Only: NameCompatible},
	{Name: FieldCloudfrontDom, Only: NameAWS},
	{Name: FieldCloudfrontKeyID, Only: NameAWS},
	{Name: FieldAccessKeyID, WriteOnly: true},
	{Name: FieldSecretAccessKey, WriteOnly: true},
}

// Provider is one provider of the family.
type Provider struct{ compatible bool }

// The two providers of the family.
var (
	AWS        = Provider{}
	Compatible = Provider{compatible: true}
)

// Name implements contract.Provider.
func (p Provider) Name() string {
	if p.compatible {
		return NameCompatible
	}
	return NameAWS
}

// Fields implements contract.Provider.
func (Provider) Fields() []contract.Field { return fields }

// Parse implements contract.Provider.
func (p Provider) Parse(in contract.Input, errs errcode.FieldErrors) (contract.Settings, contract.Credentials) {
	s := &Settings{Compatible: p.compatible}
	creds := s.parse(errs, in)
	return s, creds
}

// Decode implements contract.Provider.
func (p Provider) Decode(doc []byte) (contract.Settings, error) {
	s, err := contract.DecodeJSON[Settings](p.Name(), doc)
	if err != nil {
		return nil, err
	}
	s.Compatible = p.compatible
	return s, nil
}

// Settings are the settings of an aws_s3 or s3_compatible config.
type Settings struct {
	// Compatible marks an s3_compatible config (from the provider, not
	// stored).
	Compatible bool `json:"-"`

	BucketName string `json:"s3_bucket_name"`
	Region     string `json:"s3_bucket_region,omitempty"`
	// KeyPrefix is normalised: "" or "a/b/".
	KeyPrefix             string `json:"s3_bucket_prefix,omitempty"`
	Accelerate            bool   `json:"s3_is_accelerated,omitempty"`
	CloudfrontDomain      string `json:"s3_cloudfront_domain,omitempty"`
	CloudfrontPublicKeyID string `json:"s3_cloudfront_public_key_id,omitempty"`
	Auth                  string `json:"s3_auth_method"`
	RoleARN               string `json:"s3_role_arn,omitempty"`
	// Endpoint and UsePathStyle: s3_compatible only.
	Endpoint     string `json:"s3_endpoint_url,omitempty"`
	UsePathStyle bool   `json:"s3_use_path_style,omitempty"`
}

// Bucket implements contract.Settings.
func (s *Settings) Bucket() string { return s.BucketName }

// Prefix implements contract.Settings.
func (s *Settings) Prefix() string { return s.KeyPrefix }

// AuthMethod implements contract.Settings.
func (s *Settings) AuthMethod() string {
	if s.Auth == "" {
		return AuthAccessKey
	}
	return s.Auth
}

// IAMRole reports an aws_s3 config that assumes a role.
func (s *Settings) IAMRole() bool { return !s.Compatible && s.Auth == AuthIAMRole }

// Wire implements contract.Settings.
func (s *Settings) Wire() map[string]any {
	w := map[string]any{
		FieldBucketName:   s.BucketName,
		FieldBucketRegion: contract.Optional(s.Region),
		FieldBucketPrefix: contract.Optional(s.KeyPrefix),
		FieldAuthMethod:   s.Auth,
		FieldRoleARN:      contract.Optional(s.RoleARN),
	}
	if s.Compatible {
		w[FieldEndpointURL] = s.Endpoint
		w[FieldUsePathStyle] = s.UsePathStyle
	} else {
		w[FieldIsAccelerated] = s.Accelerate
		w[FieldCloudfrontDom] = contract.Optional(s.CloudfrontDomain)
		w[FieldCloudfrontKeyID] = contract.Optional(s.CloudfrontPublicKeyID)
	}
	return w
}

// Keys returns the access key pair of creds.
func Keys(creds contract.Credentials) (id, secret string) {
	return creds[CredAccessKeyID], creds[CredSecretAccessKey]
}

// KeyCredentials returns the credentials of an access key pair.
func KeyCredentials(id, secret string) contract.Credentials {
	return contract.Credentials{CredAccessKeyID: id, CredSecretAccessKey: secret}
}

// IsFamily reports whether the provider named name is of the S3 family
// (aws_s3 or s3_compatible).
func IsFamily(name string) bool { return name == NameAWS || name == NameCompatible }
