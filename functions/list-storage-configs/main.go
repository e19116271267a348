// Command list-storage-configs is the Lambda function behind
// GET /api/v1/storage-configs/: an organization's configs, newest first, with signed pagination cursors.
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
	"github.com/bucketlink/bucketlink/shared/awsapp/awssecrets"
)

func main() {
	ctx := context.Background()
	cfg, err := awsapp.LoadConfig(os.Getenv, awsapp.NeedCursorKey)
	if err != nil {
		log.Fatalf("list-storage-configs: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("list-storage-configs: aws configuration: %v", err)
	}
	// The store, the rate limiter and the keys: no sealer, no verifier,
	// no queue, no event bus.
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	app, err := p.App(ctx, awsapp.With{Secrets: awssecrets.New(p)})
	if err != nil {
		log.Fatalf("list-storage-configs: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
