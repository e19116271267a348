// Command create-connect-session is the Lambda function behind
// POST /api/v1/connect-sessions/: an admin API key mints a short-lived connect session for the connect page.
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
		log.Fatalf("create-connect-session: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("create-connect-session: aws configuration: %v", err)
	}
	// The store, the rate limiter and the keys: no sealer, no verifier,
	// no queue, no event bus.
	app, err := awsapp.NewParts(cfg, awsCfg, awsapp.Options{}).App(ctx, awsapp.With{})
	if err != nil {
		log.Fatalf("create-connect-session: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
