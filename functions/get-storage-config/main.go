// Command get-storage-config is the Lambda function behind
// GET /api/v1/storage-configs/{uid}/: one config.
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
)

func main() {
	ctx := context.Background()
	cfg, err := awsapp.LoadConfig(os.Getenv)
	if err != nil {
		log.Fatalf("get-storage-config: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("get-storage-config: aws configuration: %v", err)
	}
	// The store, the rate limiter and the keys: no sealer, no verifier,
	// no queue, no event bus.
	app, err := awsapp.NewParts(cfg, awsCfg, awsapp.Options{}).App(ctx, awsapp.With{})
	if err != nil {
		log.Fatalf("get-storage-config: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
