// Package s3open opens the buckets of aws_s3 and s3_compatible configs
// with the S3 driver (s3blob). It links the AWS SDK's S3 client and STS:
// only the verifier imports it.
package s3open

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/guard"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// DefaultCompatibleRegion signs requests to an S3-compatible store whose
// config names no region.
const DefaultCompatibleRegion = "us-east-1"

// ErrNoRoles is returned for an iam_role config by an Opener without Roles
// or Orgs.
var ErrNoRoles = errors.New("s3open: this service is not set up to assume IAM roles")

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
// does no network I/O, unless c is an aws_s3 config without a region:
// Open then finds the bucket's region with s3blob.FindRegion (one
// HeadBucket request, which needs no s3:GetBucketLocation) and sets it in
// c's settings, so that the caller stores and returns it; a failure to
// find it is FindRegion's error (NotFound for a missing bucket). An iam_role config ignores creds: Open looks up the
// org and gets the role's credentials (from the cache or STS), and a role
// that cannot be assumed is an error for which errors.As finds an
// *awsrole.Error. Over netguard's client, an endpoint the client would
// refuse is refused before any I/O (guard.Refused).
func (o *Opener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	s, ok := c.Settings.(*s3.Settings)
	if !ok {
		return nil, fmt.Errorf("s3open: open: provider %q is not an S3 provider", c.Provider)
	}
	if s.Compatible && s.Auth == s3.AuthIAMRole {
		// Roles are for aws_s3 only: the service's own credentials never
		// go near a user-given endpoint.
		return nil, fmt.Errorf("s3open: open: s3_auth_method iam_role is not available for provider %q", c.Provider)
	}
	endpoint := s.Endpoint
	if !s.Compatible {
		endpoint = o.AWSEndpoint // "" for AWS itself
	}
	if err := guard.Refused(o.HTTPClient, endpoint); err != nil {
		return nil, err
	}
	opts := s3blob.Options{
		Bucket:     s.BucketName,
		Region:     s.Region,
		HTTPClient: o.HTTPClient,
	}
	if s.IAMRole() {
		p, err := o.assumeRole(ctx, c, s)
		if err != nil {
			return nil, err
		}
		opts.Credentials = p
	} else {
		opts.AccessKeyID, opts.SecretAccessKey = s3.Keys(creds)
	}
	switch {
	case !s.Compatible:
		if o.AWSEndpoint != "" {
			opts.Endpoint, opts.UsePathStyle = o.AWSEndpoint, true
		} else {
			opts.Accelerate = s.Accelerate
		}
	default:
		if s.Endpoint == "" {
			return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: s3blob.ErrBadEndpoint}
		}
		opts.Endpoint, opts.UsePathStyle = s.Endpoint, s.UsePathStyle
		if opts.Region == "" {
			opts.Region = DefaultCompatibleRegion
		}
	}
	if opts.Region == "" {
		// aws_s3 without s3_bucket_region: ask the bucket (one HeadBucket)
		// and keep the answer in the config, which the caller stores.
		region, err := s3blob.FindRegion(ctx, opts)
		if err != nil {
			return nil, err
		}
		opts.Region, s.Region = region, region
	}
	b, err := s3blob.New(opts)
	if errors.Is(err, s3blob.ErrBadEndpoint) {
		// The endpoint cannot be reached as given.
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("s3open: open %s: %w", c.Provider, err)
	}
	return b, nil
}

// assumeRole returns the credentials of c's role. Roles are for aws_s3
// only (s.IAMRole): the service's own credentials never go near a
// user-given endpoint.
func (o *Opener) assumeRole(ctx context.Context, c *storageconfig.Config, s *s3.Settings) (aws.CredentialsProvider, error) {
	if o.Roles == nil || o.Orgs == nil {
		return nil, ErrNoRoles
	}
	org, err := o.Orgs.GetOrgByID(ctx, c.OrgID)
	if err != nil {
		return nil, fmt.Errorf("s3open: open: org %d of config %s: %w", c.OrgID, c.UID, err)
	}
	p, err := o.Roles.Provider(ctx, awsrole.Role{
		ARN:         s.RoleARN,
		ExternalID:  org.ExternalID,
		SessionName: awsrole.SessionName(org.Slug, org.ID),
	})
	if err != nil {
		return nil, fmt.Errorf("s3open: open config %s: %w", c.UID, err)
	}
	return p, nil
}
