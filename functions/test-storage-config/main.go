// Command test-storage-config is the Lambda function behind
// POST /api/v1/storage-configs/{uid}/test/: opens a config's credentials with KMS and re-runs the checks.
//
// It is wiring only: the typed configuration from the environment (it
// exits at once when that is wrong), the SDK clients built once at init,
// then the same http.Handler as `bucketlink serve`, adapted to API Gateway
// HTTP API events (payload 2.0). template.yaml routes only this endpoint
// here and grants only what it uses.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsevents"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsseal"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsverify"
)

func main() {
	ctx := context.Background()
	cfg, err := awsapp.LoadConfig(os.Getenv)
	if err != nil {
		log.Fatalf("test-storage-config: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("test-storage-config: aws configuration: %v", err)
	}
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	v, err := awsverify.New(p)
	if err != nil {
		log.Fatalf("test-storage-config: %v", err)
	}
	events, err := awsevents.New(p) // test/ publishes the flips it causes
	if err != nil {
		log.Fatalf("test-storage-config: %v", err)
	}
	app, err := p.App(ctx, awsapp.With{Sealer: awsseal.New(p), Verifier: v, Events: events})
	if err != nil {
		log.Fatalf("test-storage-config: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
