package awsenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// lambdaEnv is what the Lambda runtime sets, plus the endpoint variables
// tests use.
func lambdaEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLEID",
		"AWS_SECRET_ACCESS_KEY": "secret-value-never-quoted",
		"AWS_SESSION_TOKEN":     "session-token",
	}
}

func TestLoadRegionAndCredentials(t *testing.T) {
	cfg, err := awsenv.Load(env(lambdaEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAEXAMPLEID" || creds.SecretAccessKey != "secret-value-never-quoted" || creds.SessionToken != "session-token" {
		t.Errorf("credentials %+v", creds)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("base endpoint %q without AWS_ENDPOINT_URL", *cfg.BaseEndpoint)
	}
	// No endpoint configured: the clients resolve AWS's own.
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got != nil {
		t.Errorf("dynamodb endpoint %q, want the default", *got)
	}
}

func TestLoadDefaultRegion(t *testing.T) {
	m := lambdaEnv()
	delete(m, "AWS_REGION")
	m["AWS_DEFAULT_REGION"] = "us-west-2"
	cfg, err := awsenv.Load(env(m))
	if err != nil || cfg.Region != "us-west-2" {
		t.Fatalf("region %q, %v", cfg.Region, err)
	}
}

func TestLoadMissing(t *testing.T) {
	for _, name := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Run(name, func(t *testing.T) {
			m := lambdaEnv()
			delete(m, name)
			_, err := awsenv.Load(env(m))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err %v, want one naming %s", err, name)
			}
			for _, v := range m {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("error quotes a value: %v", err)
				}
			}
		})
	}
}

// The per-service variables reach the clients the way the SDK's loader
// makes them: by the client's SDK id, spaces as underscores.
func TestLoadServiceEndpoints(t *testing.T) {
	m := lambdaEnv()
	m["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:8000"
	m["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://127.0.0.1:5000"
	// The clients also look at the process environment for these two.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", m["AWS_ENDPOINT_URL_DYNAMODB"])
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", m["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	cfg, err := awsenv.Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got == nil || *got != "http://127.0.0.1:8000" {
		t.Errorf("dynamodb endpoint %v", got)
	}
	if got := secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint; got == nil || *got != "http://127.0.0.1:5000" {
		t.Errorf("secretsmanager endpoint %v", got)
	}

	m["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
	cfg, err = awsenv.Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got != nil {
		t.Errorf("dynamodb endpoint %q with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", *got)
	}
}

func TestLoadGlobalEndpoint(t *testing.T) {
	m := lambdaEnv()
	m["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
	t.Setenv("AWS_ENDPOINT_URL", m["AWS_ENDPOINT_URL"])
	cfg, err := awsenv.Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got == nil || *got != "http://127.0.0.1:4566" {
		t.Errorf("dynamodb endpoint %v", got)
	}
}
