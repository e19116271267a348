// Package awsverify gives an AWS function the verifier that opens buckets
// (package verifier): every provider's driver, and STS AssumeRole with the
// service's own credentials for iam_role configs. Only the functions that
// run checks (create, test, verify-worker) import it, and only they link
// the drivers and STS.
package awsverify

import (
	"fmt"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/verifier"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// New returns the verifier of the function of p, on its store (the orgs of
// iam_role configs). The emulator overrides of `bucketlink serve` (GCS,
// Azure) are not offered: a deployment talks to the real services. It
// makes no call to AWS.
func New(p *awsapp.Parts) (*verify.Verifier, error) {
	cfg := p.Config()
	v, err := verifier.New(p.AWS(), p.Store(), verifier.Options{
		AllowPrivate:   cfg.AllowPrivate,
		AWSS3Endpoint:  cfg.AWSS3Endpoint,
		AWSSTSEndpoint: cfg.AWSSTSEndpoint,
		GCPIdentity:    cfg.GCPIdentity,
		Deadline:       cfg.VerifyDeadline,
		AppOrigins:     cfg.AppOrigins,

		AzureFederatedToken: cfg.AzureFederatedToken,
	})
	if err != nil {
		return nil, fmt.Errorf("awsapp: verifier (%s, %s, %s): %w", awsapp.EnvAWSSTSEndpoint, awsapp.EnvGCPIdentity, awsapp.EnvAzureFederatedToken, err)
	}
	return v, nil
}
