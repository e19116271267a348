// Command connect-page is the Lambda function behind GET /connect/ and its
// two assets: the connect page (shared/connectpage), embedded in the
// binary.
//
// It is wiring only, and the smallest function: the page is static and
// reads no configuration, so it builds no AWS client and links no store;
// the page itself talks to the API's other functions with its connect
// session. template.yaml routes only the page's three paths here and grants
// only logging.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/bucketlink/bucketlink/shared/connectpage"
)

func main() {
	lambda.Start(httpadapter.NewV2(connectpage.Handler()).ProxyWithContext)
}
