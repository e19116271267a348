// Package verifier builds the verifier that opens buckets: verify.Verifier
// over every provider's driver (anyblob), one SSRF-safe client (netguard),
// and STS AssumeRole for iam_role configs (awsrole). It is the one part
// that links the drivers, the Google and Azure SDKs and STS: only the
// processes that run checks ask for it (`bucketlink serve`, and the create,
// test and verify-worker functions).
package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/azure/azureopen"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// Options are the operator's settings of the verifier.
type Options struct {
	// AllowPrivate lets user endpoints reach loopback, private and other
	// special-purpose addresses, and plain http (tests and development).
	AllowPrivate bool
	// AWSS3Endpoint, when set, receives all aws_s3 traffic.
	AWSS3Endpoint string
	// AWSSTSEndpoint, when set, receives the AssumeRole calls of iam_role
	// configs instead of STS.
	AWSSTSEndpoint string
	// The emulator overrides of `bucketlink serve` (see anyblob.Opener);
	// a deployment leaves them empty and talks to the real services.
	GCSEndpoint, GCSHMACEndpoint, GCSHMACRegion, AzureBlobEndpoint string
	// AzureAuthorityHost is TEST ONLY: the Entra ID authority host
	// azure_blob service-principal configs get their token from, in place
	// of their cloud's (see azureopen.Opener).
	AzureAuthorityHost string
	// AzureFederatedToken is bucketlink's own federated identity, for
	// azure_blob workload_identity configs: "" none (they fail as
	// unavailable), "aws-sts" (AWS IAM outbound identity federation:
	// sts:GetWebIdentityToken with awsCfg's credentials, the keyless choice
	// on Lambda), or "file:PATH" (a JWT in a file, read at every sign-in).
	AzureFederatedToken string
	// GCPIdentity is bucketlink's own Google identity, for gc_storage
	// impersonation configs: "" none (they fail as unavailable), "adc"
	// (Application Default Credentials), or a credential configuration
	// file (e.g. workload identity federation with AWS as the source).
	GCPIdentity string
	// GCPSTSEndpoint and GCPIAMCredentialsEndpoint are TEST ONLY: they
	// replace Google's STS and IAM Credentials (see
	// gcsblob.IdentityOptions).
	GCPSTSEndpoint, GCPIAMCredentialsEndpoint string
	// Deadline bounds one verification; 0 means verify's default.
	Deadline time.Duration
	// AppOrigins are the operator's app origins (corscheck.ParseOrigins):
	// bucket-verify sends the browser's CORS preflights from each.
	AppOrigins []string
}

// New returns the verifier of every provider. awsCfg holds the service's
// own AWS credentials, used for STS AssumeRole only; orgs gives the org
// of an iam_role config (its external id and slug). It makes no call.
func New(awsCfg aws.Config, orgs s3open.OrgFinder, opts Options) (*verify.Verifier, error) {
	roles, err := awsrole.NewFromConfig(awsCfg, opts.AWSSTSEndpoint, awsrole.Options{})
	if err != nil {
		return nil, fmt.Errorf("STS endpoint: %w", err)
	}
	policy := netguard.Policy{AllowPrivate: opts.AllowPrivate}
	azureAssertion, err := federatedToken(awsCfg, opts)
	if err != nil {
		return nil, err
	}
	var gcp *gcsblob.Identity
	if opts.GCPIdentity != "" {
		file := opts.GCPIdentity
		if file == "adc" {
			file = ""
		}
		gcp, err = gcsblob.NewIdentity(gcsblob.IdentityOptions{
			CredentialsFile: file, HTTPClient: policy.HTTPClient(),
			STSURL: opts.GCPSTSEndpoint, IAMCredentialsURL: opts.GCPIAMCredentialsEndpoint,
		})
		if err != nil {
			return nil, fmt.Errorf("Google identity: %w", err)
		}
	}
	return &verify.Verifier{
		// The customer's credentials only (keys, or their role's
		// temporary ones), over one SSRF-safe client.
		Opener: &anyblob.Opener{
			HTTPClient:        policy.HTTPClient(),
			S3:                &s3open.Opener{AWSEndpoint: opts.AWSS3Endpoint, Roles: roles, Orgs: orgs},
			GCSEndpoint:       opts.GCSEndpoint,
			GCSHMACEndpoint:   opts.GCSHMACEndpoint,
			GCSHMACRegion:     opts.GCSHMACRegion,
			AzureBlobEndpoint: opts.AzureBlobEndpoint,
			GCPIdentity:       gcp,

			AzureAuthorityHost: opts.AzureAuthorityHost,
			AzureAssertion:     azureAssertion,
		},
		Deadline: opts.Deadline,
		// The preflights go to the same user endpoints, over a client
		// of the same policy.
		CORS:       &corscheck.Checker{Client: policy.HTTPClient()},
		AppOrigins: opts.AppOrigins,
	}, nil
}

// federatedToken returns the assertion of opts.AzureFederatedToken (nil
// for none).
func federatedToken(awsCfg aws.Config, opts Options) (azureopen.Assertion, error) {
	v := opts.AzureFederatedToken
	switch {
	case v == "":
		return nil, nil
	case v == "aws-sts":
		return azureopen.STSAssertion(sts.NewFromConfig(awsCfg, func(o *sts.Options) {
			if o.Region == "" {
				o.Region = awsrole.DefaultSTSRegion
			}
			if opts.AWSSTSEndpoint != "" {
				o.BaseEndpoint = aws.String(opts.AWSSTSEndpoint)
			}
		})), nil
	case strings.HasPrefix(v, "file:") && len(v) > len("file:"):
		return azureopen.FileAssertion(strings.TrimPrefix(v, "file:")), nil
	}
	return nil, fmt.Errorf("Azure federated token: %q is neither \"aws-sts\" nor \"file:PATH\"", v)
}
