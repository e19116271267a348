// Command patch-storage-config is the Lambda function behind
// PATCH /api/v1/storage-configs/{uid}/: an admin renames a config, changes
// its re-verification or access mode, or rotates its credentials and
// moves its bucket. A rotation or a new bucket, region, prefix or
// endpoint runs the checks first (with the new credentials, or the stored
// ones opened with KMS), then seals the new credentials with KMS and
// writes everything in one PutItem conditional on the version; a flip of
// is_verified is published to the event bus, as test/ does.
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
		log.Fatalf("patch-storage-config: %v", err)
	}
	awsCfg, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("patch-storage-config: aws configuration: %v", err)
	}
	p := awsapp.NewParts(cfg, awsCfg, awsapp.Options{})
	v, err := awsverify.New(p)
	if err != nil {
		log.Fatalf("patch-storage-config: %v", err)
	}
	events, err := awsevents.New(p) // a rotation that flips is_verified publishes it
	if err != nil {
		log.Fatalf("patch-storage-config: %v", err)
	}
	app, err := p.App(ctx, awsapp.With{Sealer: awsseal.New(p), Verifier: v, Events: events})
	if err != nil {
		log.Fatalf("patch-storage-config: %v", err)
	}
	lambda.Start(httpadapter.NewV2(app.Handler()).ProxyWithContext)
}
