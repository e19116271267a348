package lambdatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/bucketlink/bucketlink/infra/contract"
	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestOfficialClientsOnLambda runs the client-contract suite
// (infra/contract: the official avala and edgeimpulse-api Python clients)
// against the deployment's shape: every HttpApi route of template.yaml,
// served by the Gateway, each to its own function's real bootstrap, and
// verify-worker fed from the verify queue as Lambda's SQS event source
// would. A request the template has no route for answers 404 and fails
// the client call that made it; the test logs those requests.
func TestOfficialClientsOnLambda(t *testing.T) {
	contract.Python(t) // skips (or fails in CI) before anything starts
	s := newStack(t)
	routes, err := lambdatest.ParseRoutes(filepath.Join(s.root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := functionsByLogicalID(t, s.root)
	functions := map[string]*lambdatest.Function{}
	for _, r := range routes {
		if _, ok := functions[r.LogicalID]; ok {
			continue
		}
		name, ok := names[r.LogicalID]
		if !ok {
			t.Errorf("template.yaml routes %q to %s, which has no functions/<name>/main.go", r.Key(), r.LogicalID)
			continue
		}
		functions[r.LogicalID] = s.start(t, name, highRateLimits(s.env(name)))
	}
	worker := s.start(t, "verify-worker", s.env("verify-worker"))
	feedWorker(t, s, worker)

	gw, err := lambdatest.NewGateway(routes, functions, lambdatest.GatewayOptions{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { logCalls(t, gw.Calls()) })

	f := s.contractFixture(t, srv.URL)
	f.RateLimited = s.rateLimitedGateway(t, routes, names, f)
	contract.Run(t, f)
}

// highRateLimits sets rate limits that no test but test_rate_limits.py's
// 429s meets (they use rateLimitedGateway); the headers are still there.
func highRateLimits(env []string) []string {
	for _, v := range []string{"BUCKETLINK_RATE_VERIFY", "BUCKETLINK_RATE_WRITE", "BUCKETLINK_RATE_READ"} {
		env = setEnv(env, v, "100000/min,burst=10000")
	}
	return env
}

// rateLimitedGateway serves the routes of the functions that
// test_rate_limits.py counts out to the 429, list-storage-configs,
// get-setup-info and verify-bucket, from second instances of them with
// bursts of 3 reads and 2 verifications an hour, on the same table, for
// a key of f's org that nothing else uses.
func (s *stack) rateLimitedGateway(t *testing.T, routes []lambdatest.Route, names map[string]string, f contract.Fixture) *contract.RateLimited {
	t.Helper()
	var limited []lambdatest.Route
	functions := map[string]*lambdatest.Function{}
	for _, r := range routes {
		name := names[r.LogicalID]
		if name != "list-storage-configs" && name != "get-setup-info" && name != "verify-bucket" {
			continue
		}
		limited = append(limited, r)
		if functions[r.LogicalID] == nil {
			env := setEnv(setEnv(s.env(name), "BUCKETLINK_RATE_READ", "1/h,burst=3"), "BUCKETLINK_RATE_VERIFY", "1/h,burst=2")
			functions[r.LogicalID] = s.start(t, name, env)
		}
	}
	gw, err := lambdatest.NewGateway(limited, functions, lambdatest.GatewayOptions{TB: t})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	key, _, err := provision.CreateAPIKey(t.Context(), s.store, f.Org.Slug, identity.RoleAdmin, f.Org.Slug+"-throttled")
	if err != nil {
		t.Fatal(err)
	}
	s.remember(key)
	return &contract.RateLimited{BaseURL: srv.URL, Org: f.Org, Key: key, Verify: f.Verify[0]}
}

// functionsByLogicalID maps each function of functions/ to its name:
// GetStorageConfigFunction -> get-storage-config.
func functionsByLogicalID(t *testing.T, root string) map[string]string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		out[logicalID(name)] = name
	}
	return out
}

// contractFixture seeds the orgs "acme" and "other" (admin, member and
// viewer keys of acme, other's admin) and two MinIO buckets holding
// <prefix>train/info.labels and an object, one for an aws_s3 config (the
// stack's operator S3 endpoint points at MinIO) and the s3 verify body,
// one for an s3_compatible config and the other verify body (endpoint
// MinIO).
func (s *stack) contractFixture(t *testing.T, baseURL string) contract.Fixture {
	t.Helper()
	ctx := t.Context()
	acme, admin := s.newOrg(t, "acme")
	other, otherAdmin := s.newOrg(t, "other")
	key := func(role identity.Role) string {
		k, _, err := provision.CreateAPIKey(ctx, s.store, "acme", role, "acme-"+string(role))
		if err != nil {
			t.Fatal(err)
		}
		s.remember(k)
		return k
	}
	bucketWith := func(prefix string) bucket {
		b := s.newBucket(t)
		s.minio.PutObject(t, b.name, prefix+"train/info.labels", []byte(`{"version":1,"files":[]}`))
		s.minio.PutObject(t, b.name, prefix+"train/sample.json", []byte(`{}`))
		return b
	}
	aws, compat := bucketWith("annotations/"), bucketWith("data/")
	return contract.Fixture{
		BaseURL:  baseURL,
		Org:      contract.Org{ID: acme.ID, Slug: acme.Slug},
		OtherOrg: contract.Org{ID: other.ID, Slug: other.Slug},
		Keys:     contract.Keys{Admin: admin, Member: key(identity.RoleMember), Viewer: key(identity.RoleViewer), OtherAdmin: otherAdmin},
		Configs: []contract.Entry{
			{Label: "aws_s3", Body: map[string]any{
				"name": "AWS " + aws.name, "provider": "aws_s3", "s3_bucket_name": aws.name, "s3_bucket_region": "us-east-1",
				"s3_bucket_prefix": "annotations/", "s3_access_key_id": aws.accessKeyID, "s3_secret_access_key": aws.secretAccessKey,
			}},
			{Label: "s3_compatible", Body: map[string]any{
				"name": "MinIO " + compat.name, "provider": "s3_compatible", "s3_endpoint_url": s.minio.Endpoint,
				"s3_bucket_name": compat.name, "s3_bucket_prefix": "data/",
				"s3_access_key_id": compat.accessKeyID, "s3_secret_access_key": compat.secretAccessKey,
			}},
		},
		Verify: []contract.Entry{
			{Label: "s3", Body: map[string]any{
				"storageProvider": "s3", "accessKey": aws.accessKeyID, "secretKey": aws.secretAccessKey,
				"bucket": aws.name, "region": "us-east-1", "prefix": "annotations/",
			}},
			{Label: "other", Body: map[string]any{
				"storageProvider": "other", "endpoint": s.minio.Endpoint, "accessKey": compat.accessKeyID,
				"secretKey": compat.secretAccessKey, "bucket": compat.name, "prefix": "data/",
			}},
		},
	}
}

// feedWorker runs verify-worker on the verify queue until the test ends,
// as Lambda's SQS event source does: batches of up to 5 (BatchSize in
// template.yaml), the messages the worker does not report as failures
// deleted, the others left to come back after their visibility timeout.
func feedWorker(t *testing.T, s *stack, worker *lambdatest.Function) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	client := sqs.NewFromConfig(s.moto.AWSConfig())
	queueARN := "arn:aws:sqs:us-east-1:000000000000:" + s.queueURL[strings.LastIndex(s.queueURL, "/")+1:]
	failf := func(format string, args ...any) {
		if ctx.Err() == nil {
			t.Errorf("verify-worker feed: "+format, args...)
		}
	}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 5, WaitTimeSeconds: 1,
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			})
			if err != nil {
				failf("receive: %v", err)
				return
			}
			if len(out.Messages) == 0 {
				continue
			}
			var ev events.SQSEvent
			for _, m := range out.Messages {
				ev.Records = append(ev.Records, events.SQSMessage{
					MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
					Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
					EventSourceARN: queueARN, AWSRegion: "us-east-1",
				})
			}
			payload, err := json.Marshal(ev)
			if err != nil {
				failf("%v", err)
				return
			}
			ictx, icancel := context.WithTimeout(ctx, time.Minute)
			res, err := worker.Invoke(ictx, payload)
			icancel()
			switch {
			case err != nil:
				failf("invoke: %v", err)
				return
			case res.Err != nil:
				// Lambda retries the whole batch after the visibility
				// timeout; so does this feed.
				failf("the worker failed: %v; output:\n%s", res.Err, worker.Output())
				continue
			}
			var r events.SQSEventResponse
			if err := json.Unmarshal(res.Payload, &r); err != nil {
				failf("response %s: %v", res.Payload, err)
				continue
			}
			for _, m := range ev.Records {
				if slices.ContainsFunc(r.BatchItemFailures, func(f events.SQSBatchItemFailure) bool { return f.ItemIdentifier == m.MessageId }) {
					continue
				}
				if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
					failf("delete: %v", err)
				}
			}
		}
	}()
}

// logCalls logs how many requests each route served and every request
// that no route of template.yaml matched (the client call that made it
// got a 404 and fails the suite, unless it expected one).
func logCalls(t *testing.T, calls []lambdatest.GatewayCall) {
	perRoute := map[string]int{}
	var unrouted []string
	for _, c := range calls {
		if c.RouteKey == "" {
			unrouted = append(unrouted, fmt.Sprintf("%s %s", c.Method, c.RawPath))
			continue
		}
		perRoute[c.RouteKey+"  "+c.LogicalID]++
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(perRoute)) {
		fmt.Fprintf(&b, "\n  %4d  %s", perRoute[k], k)
	}
	t.Logf("gateway: %d requests by route:%s", len(calls), b.String())
	if len(unrouted) > 0 {
		t.Logf("gateway: %d requests matched no route of template.yaml (404):\n  %s", len(unrouted), strings.Join(unrouted, "\n  "))
	}
}
