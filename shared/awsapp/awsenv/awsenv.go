// Package awsenv loads the service's own AWS configuration from what the
// Lambda runtime puts in the environment, and nothing else.
//
// config.LoadDefaultConfig, the SDK's general loader, links the STS, SSO
// and SSO OIDC clients (for its assume-role, web-identity and SSO
// credential providers) and reads the shared config files. A Lambda
// function needs none of that: the runtime hands it the execution role's
// credentials and its region as environment variables
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
// So the functions load their configuration here, and a function that
// makes no STS call of its own links no STS client. The operator command,
// which runs on people's machines with profiles and SSO, keeps the SDK's
// loader.
//
// Load honours:
//   - AWS_REGION, else AWS_DEFAULT_REGION;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN;
//   - AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, as the SDK's loader
//     reads them (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
//     and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS; tests point the clients at
//     DynamoDB Local and moto with them.
//
// Everything else (HTTP client, retryer, endpoint resolution) is the
// SDK's default for an aws.Config, as with the general loader.
package awsenv

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the AWS configuration that getenv (os.Getenv in main)
// describes. It fails when the region or the credentials are missing,
// naming the variable and never quoting a value.
func Load(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("awsenv: AWS_REGION is not set (the Lambda runtime sets it)")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id == "":
		return aws.Config{}, errors.New("awsenv: AWS_ACCESS_KEY_ID is not set (the Lambda runtime sets the execution role's credentials)")
	case secret == "":
		return aws.Config{}, errors.New("awsenv: AWS_SECRET_ACCESS_KEY is not set (the Lambda runtime sets the execution role's credentials)")
	}
	creds := credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	creds.Value.Source = "awsenv"
	src := endpoints{getenv: getenv}
	cfg := aws.Config{
		Region:        region,
		Credentials:   creds,
		ConfigSources: []any{src},
	}
	if ignored, _, _ := src.GetIgnoreConfiguredEndpoints(context.Background()); !ignored {
		if v := getenv("AWS_ENDPOINT_URL"); v != "" {
			cfg.BaseEndpoint = aws.String(v)
		}
	}
	return cfg, nil
}

// endpoints is the configuration source that answers the SDK clients'
// question "is an endpoint configured for service sdkID?". The clients
// look for these two methods on every entry of aws.Config.ConfigSources
// (the interfaces of the SDK's internal/configsources, which its own
// EnvConfig implements the same way).
type endpoints struct {
	getenv func(string) string
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SERVICE>, where SERVICE
// is the client's SDK id in upper case with spaces as underscores
// ("Secrets Manager" reads AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	name := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
	if v := e.getenv(name); v != "" {
		return v, true, nil
	}
	return "", false, nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e endpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	v := e.getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	if v == "" {
		return false, false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, false, nil
	}
	return b, true, nil
}
