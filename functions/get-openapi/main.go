// Command get-openapi is the Lambda function behind GET /openapi.json: the
// OpenAPI document of both APIs, embedded in the binary (shared/openapi).
//
// It is wiring only, and needs no configuration, AWS client, store or key:
// the document's handler adapted to API Gateway HTTP API events (payload
// 2.0). template.yaml routes only this endpoint here and grants it only
// its logs.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/bucketlink/bucketlink/shared/openapi"
)

func main() {
	lambda.Start(httpadapter.NewV2(openapi.Handler()).ProxyWithContext)
}
