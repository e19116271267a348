package awsapp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestLinksOnTheGatewayDomain invokes the wired handler through the
// Lambda adapter with events whose Host and X-Forwarded-Proto headers are
// the client's (evil.example, http) and whose request context names the
// API's domain: Location and next are on https://{requestContext.domainName}.
// Served without the adapter (no request context), they are relative.
func TestLinksOnTheGatewayDomain(t *testing.T) {
	w := newWorld(t)
	ctx := ctxFor(t)
	w.cfg.CursorSecretID = w.newSecret(t, randomHex(32))
	app, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision.CreateOrg(ctx, w.store, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, w.store, "acme", identity.RoleAdmin, "ann")
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "links")
	w.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	w.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	body, _ := json.Marshal(map[string]any{"name": "Data", "provider": "aws_s3", "s3_bucket_name": bucket,
		"s3_bucket_region": "us-east-1", "s3_access_key_id": ak, "s3_secret_access_key": sk})

	const domain = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
	const want = "https://" + domain + "/api/v1/storage-configs/"
	proxy := httpadapter.NewV2(app.Handler())
	invoke := func(method, rawQuery, body string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := proxy.ProxyWithContext(ctx, events.APIGatewayV2HTTPRequest{
			Version: "2.0", RawPath: "/api/v1/storage-configs/", RawQueryString: rawQuery, Body: body,
			Headers: map[string]string{"host": "evil.example", "x-forwarded-proto": "http", "x-forwarded-host": "evil.example",
				"x-avala-api-key": key, "content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: domain, Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: "/api/v1/storage-configs/"},
			},
		})
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("%s: %v %d %s", method, err, resp.StatusCode, resp.Body)
		}
		return resp
	}
	for range 2 {
		resp := invoke("POST", "", string(body))
		var c struct{ UID string }
		if err := json.Unmarshal([]byte(resp.Body), &c); err != nil {
			t.Fatal(err)
		}
		if got := resp.Headers["Location"]; got != want+c.UID+"/" {
			t.Errorf("Location = %q, want %q", got, want+c.UID+"/")
		}
	}
	var page struct{ Next *string }
	if err := json.Unmarshal([]byte(invoke("GET", "limit=1", "").Body), &page); err != nil {
		t.Fatal(err)
	}
	if page.Next == nil || !strings.HasPrefix(*page.Next, want+"?") {
		t.Errorf("next = %v, want a link on %s", page.Next, want)
	}

	// Without the adapter's request context: relative links.
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/storage-configs/?limit=1", nil)
	req.Host = "evil.example"
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Next == nil || !strings.HasPrefix(*page.Next, "/api/v1/storage-configs/?") {
		t.Errorf("next without a request context = %v, want a relative link", page.Next)
	}
}
