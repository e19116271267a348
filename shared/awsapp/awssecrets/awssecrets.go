// Package awssecrets gives an AWS function its reader of Secrets Manager
// secrets (the cursor secret, the verification record key). Only the
// functions with a secret to read (list, the verifications list and the
// bucket-verify API) import it, and only they link the Secrets Manager
// client.
package awssecrets

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bucketlink/bucketlink/shared/awsapp"
)

// New returns the function's secret reader. It makes no call to AWS; each
// call of the reader is one GetSecretValue.
func New(p *awsapp.Parts) awsapp.SecretReader {
	client := secretsmanager.NewFromConfig(p.AWS())
	return func(ctx context.Context, secretID string) ([]byte, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return nil, err
		}
		if s := aws.ToString(out.SecretString); s != "" {
			return []byte(s), nil
		}
		return out.SecretBinary, nil
	}
}
