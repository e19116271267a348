package s3blob

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// DefaultCompatibleRegion signs requests to an S3-compatible store whose
// config names no region.
const DefaultCompatibleRegion = "us-east-1"

// ErrNoRoles is returned for an iam_role config by an Opener without Roles
// or Orgs.
var ErrNoRoles = errors.New("s3blob: this service is not set up to assume IAM roles")

// OrgFinder looks up an organization by id; a store.Store is one.
type OrgFinder interface {
	GetOrgByID(ctx context.Context, id int64) (*identity.Org, error)
}

// Opener opens S3 buckets for storage configs. It implements verify.Opener.
type Opener struct {
	// HTTPClient carries every request to the bucket; required.
	HTTPClient *http.Client
	// AWSEndpoint, when set (BUCKETLINK_AWS_S3_ENDPOINT), sends all aws_s3
	// traffic to this endpoint with path-style addressing instead of to
	// AWS, e.g. to a MinIO in development.
	AWSEndpoint string

	// Roles assumes the customer's role of iam_role configs, with the
	// service's own credentials, which reach STS only; the bucket's client
	// gets the role's temporary credentials. Nil: iam_role configs do not
	// open (ErrNoRoles).
	Roles *awsrole.Assumer
	// Orgs finds a config's organization, whose external id (the role's
	// sts:ExternalId condition) and slug (in the session name) the
	// AssumeRole call carries. Required with Roles.
	Orgs OrgFinder
}

// Open returns a Bucket for c. An access_key config uses creds and Open
// does no network I/O. An iam_role config ignores creds: Open looks up the
// org and gets the role's credentials (from the cache or STS), and a role
// that cannot be assumed is an error for which errors.As finds an
// *awsrole.Error.
func (o *Opener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	opts := Options{
		Bucket:     c.S3BucketName,
		Region:     c.S3BucketRegion,
		HTTPClient: o.HTTPClient,
	}
	if c.S3AuthMethod == storageconfig.AuthIAMRole {
		p, err := o.assumeRole(ctx, c)
		if err != nil {
			return nil, err
		}
		opts.Credentials = p
	} else {
		opts.AccessKeyID, opts.SecretAccessKey = creds.AccessKeyID, creds.SecretAccessKey
	}
	switch c.Provider {
	case storageconfig.ProviderAWSS3:
		if o.AWSEndpoint != "" {
			opts.Endpoint, opts.UsePathStyle = o.AWSEndpoint, true
		} else {
			opts.Accelerate = c.S3IsAccelerated
		}
	case storageconfig.ProviderS3Compatible:
		if c.S3EndpointURL == "" {
			return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: ErrBadEndpoint}
		}
		opts.Endpoint, opts.UsePathStyle = c.S3EndpointURL, c.S3UsePathStyle
		if opts.Region == "" {
			opts.Region = DefaultCompatibleRegion
		}
	default:
		return nil, fmt.Errorf("s3blob: open: provider %q is not an S3 provider", c.Provider)
	}
	b, err := New(opts)
	if errors.Is(err, ErrBadEndpoint) {
		// The endpoint cannot be reached as given.
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("s3blob: open %s: %w", c.Provider, err)
	}
	return b, nil
}

// assumeRole returns the credentials of c's role. Roles are for aws_s3
// only: the service's own credentials never go near a user-given endpoint.
func (o *Opener) assumeRole(ctx context.Context, c *storageconfig.Config) (aws.CredentialsProvider, error) {
	switch {
	case c.Provider != storageconfig.ProviderAWSS3:
		return nil, fmt.Errorf("s3blob: open: s3_auth_method iam_role is not available for provider %q", c.Provider)
	case o.Roles == nil || o.Orgs == nil:
		return nil, ErrNoRoles
	}
	org, err := o.Orgs.GetOrgByID(ctx, c.OrgID)
	if err != nil {
		return nil, fmt.Errorf("s3blob: open: org %d of config %s: %w", c.OrgID, c.UID, err)
	}
	p, err := o.Roles.Provider(ctx, awsrole.Role{
		ARN:         c.S3RoleARN,
		ExternalID:  org.ExternalID,
		SessionName: awsrole.SessionName(org.Slug, org.ID),
	})
	if err != nil {
		return nil, fmt.Errorf("s3blob: open config %s: %w", c.UID, err)
	}
	return p, nil
}
