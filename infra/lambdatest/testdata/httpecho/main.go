// Command httpecho is a Lambda function for the Gateway's own tests: it
// answers an API Gateway HTTP API event (payload 2.0) with the event
// itself (the JSON it received), or, by its query parameter mode, with an error (fail),
// a bare JSON string (raw) or a binary body with cookies and
// multi-value headers (binary).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, raw json.RawMessage) (any, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	switch e.QueryStringParameters["mode"] {
	case "fail":
		return nil, errors.New("httpecho: asked to fail")
	case "raw":
		return "plain text from httpecho", nil
	case "binary":
		return events.APIGatewayV2HTTPResponse{
			StatusCode:        201,
			Headers:           map[string]string{"Content-Type": "application/octet-stream"},
			MultiValueHeaders: map[string][]string{"X-Multi": {"one", "two"}},
			Cookies:           []string{"a=1; Path=/", "b=2"},
			Body:              base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}),
			IsBase64Encoded:   true,
		}, nil
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(raw),
	}, nil
}

func main() { lambda.Start(handle) }
