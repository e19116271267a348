package azureopen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Assertion returns a token of bucketlink's own identity for audience:
// the client assertion a workload_identity config's application trusts
// (its federated identity credential). It is operator configuration.
type Assertion func(ctx context.Context, audience string) (string, error)

// ErrNoFederatedIdentity fails a workload_identity config where the
// operator configured no identity to federate (BUCKETLINK_AZURE_FEDERATED_TOKEN).
var ErrNoFederatedIdentity = errors.New("azureopen: workload_identity configs need bucketlink's own federated identity (BUCKETLINK_AZURE_FEDERATED_TOKEN), which is not configured")

// maxTokenBytes bounds a token file.
const maxTokenBytes = 16 << 10

// FileAssertion reads the token from path at every call, so that whoever
// writes it may rotate it (as a Kubernetes projected service-account
// token, AZURE_FEDERATED_TOKEN_FILE). The token carries its own audience;
// audience is not checked here (Entra ID checks it).
func FileAssertion(path string) Assertion {
	return func(context.Context, string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("azureopen: federated token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" || len(b) > maxTokenBytes || strings.Count(tok, ".") != 2 {
			return "", fmt.Errorf("azureopen: federated token file %s does not hold one JWT", path)
		}
		return tok, nil
	}
}

// WebIdentityTokenAPI is the part of the STS client STSAssertion uses.
type WebIdentityTokenAPI interface {
	GetWebIdentityToken(ctx context.Context, in *sts.GetWebIdentityTokenInput, optFns ...func(*sts.Options)) (*sts.GetWebIdentityTokenOutput, error)
}

// STSTokenSeconds is the life of the tokens STSAssertion asks for: one
// token request of Entra ID uses each at once.
const STSTokenSeconds = 300

// STSAssertion asks AWS STS for a token of the caller's own AWS identity
// (on Lambda, the function's execution role) with IAM outbound identity
// federation (sts:GetWebIdentityToken, RS256, for audience, valid
// STSTokenSeconds). Its issuer is the AWS account's (aws iam
// get-outbound-web-identity-federation-info) and its subject the role's
// ARN: what the customer's federated credential names. The account must
// have outbound identity federation enabled, and the role the permission
// sts:GetWebIdentityToken.
func STSAssertion(c WebIdentityTokenAPI) Assertion {
	return func(ctx context.Context, audience string) (string, error) {
		out, err := c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
			Audience:         []string{audience},
			SigningAlgorithm: aws.String("RS256"),
			DurationSeconds:  aws.Int32(STSTokenSeconds),
		})
		if err != nil {
			return "", fmt.Errorf("azureopen: sts:GetWebIdentityToken: %w", err)
		}
		if out.WebIdentityToken == nil || *out.WebIdentityToken == "" {
			return "", errors.New("azureopen: sts:GetWebIdentityToken answered no token")
		}
		return *out.WebIdentityToken, nil
	}
}
