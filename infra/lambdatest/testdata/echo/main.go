// Command echo is a Lambda function for the lambdatest harness's own tests:
// what it does depends on the event's action.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	Data   string `json:"data"`
}

type reply struct {
	Data       string `json:"data"`
	RequestID  string `json:"request_id"`
	ARN        string `json:"arn"`
	DeadlineMs int64  `json:"deadline_ms"`
	PID        int    `json:"pid"`
}

func handle(ctx context.Context, e event) (*reply, error) {
	switch e.Action {
	case "echo":
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		return &reply{Data: e.Data, RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, DeadlineMs: dl.UnixMilli(), PID: os.Getpid()}, nil
	case "fail":
		return nil, errors.New(e.Data)
	case "panic":
		panic(e.Data)
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Hour)
	}
	return nil, fmt.Errorf("unknown action %q", e.Action)
}

func main() {
	if msg := os.Getenv("ECHO_INIT_ERROR"); msg != "" {
		// What a runtime does when its init fails: report, then exit.
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		body := fmt.Sprintf(`{"errorMessage":%q,"errorType":"InitError"}`, msg)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		fmt.Fprintln(os.Stderr, "init failed:", msg)
		os.Exit(1)
	}
	lambda.Start(handle)
}
