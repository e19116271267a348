// Command verify-existing-bucket is the Lambda function behind
// POST /v1/api/organizations/{organizationId}/buckets/{bucketId}/verify:
// the official clients' "verify existing bucket". It verifies the stored
// config that bucketId names (its integer id, or its uid) with the
// config's own stored credentials, at a prefix inside the config's. Like
// verify-bucket it shows the verification record, and when there is none
// (or the last one ended long enough ago) it stores a new one and sends
// its key to the verification queue (SQS) that verify-worker consumes. It
// never seals credentials and never calls the customer's provider.
//
// It is wiring only: the typed configuration from the environment (it
// exits at once when that is wrong, including a missing queue URL or
// record-key secret), the SDK clients built once at init, then the same
// http.Handler as `bucketlink serve`, adapted to API Gateway HTTP API
// events (payload 2.0). template.yaml routes only this endpoint here and
// grants only what it uses.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsqueue"
	"github.com/bucketlink/bucketlink/shared/awsapp/awsseal"
	"github.com/bucketlink/bucketlink/shared/awsapp/awssecrets"
)

func main() {
	ctx := context.Background()
	cfg, err := awsapp.LoadConfig(os.Getenv, awsapp.NeedVerifyQueue)
	if err != nil {
		log.Fatalf("verify-existing-bucket: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("verify-existing-bucket: aws configuration: %v", err)
	}
	// Seals the run's credentials and sends it to the worker's queue; the
	// worker opens the bucket.
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	q, err := awsqueue.New(p)
	if err != nil {
		log.Fatalf("verify-existing-bucket: %v", err)
	}
	app, err := p.App(ctx, awsapp.With{Sealer: awsseal.New(p), Secrets: awssecrets.New(p), Queue: q})
	if err != nil {
		log.Fatalf("verify-existing-bucket: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
