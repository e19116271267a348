// Package awsseal gives an AWS function the KMS sealer of its credentials
// and verification records. Only the functions that seal or open (create,
// test, the bucket-verify API and the verify worker) import it, and only
// they link the KMS client.
package awsseal

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
)

// New returns the KMS sealer with the function's key (Config.KMSKeyID). It
// makes no call to AWS.
func New(p *awsapp.Parts) *kmsseal.Sealer {
	return kmsseal.New(kms.NewFromConfig(p.AWS()), p.Config().KMSKeyID)
}
