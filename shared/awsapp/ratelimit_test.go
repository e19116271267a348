package awsapp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
)

func TestLoadConfigRateLimits(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    ratelimit.Limits
		wantErr []string
	}{
		{"defaults", nil, ratelimit.DefaultLimits, nil},
		{"each class", map[string]string{
			awsapp.EnvRateVerify: "10/s,burst=20", awsapp.EnvRateWrite: "off", awsapp.EnvRateRead: "1000/min",
		}, ratelimit.Limits{
			Verify: ratelimit.Rate{Count: 10, Per: time.Second, Burst: 20},
			Read:   ratelimit.Rate{Count: 1000, Per: time.Minute, Burst: 1000},
		}, nil},
		{"invalid, named and not echoed", map[string]string{awsapp.EnvRateVerify: "many/min", awsapp.EnvRateRead: "0/s"}, ratelimit.Limits{},
			[]string{"BUCKETLINK_RATE_VERIFY must be a rate", "BUCKETLINK_RATE_READ must be a rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := awsapp.LoadConfig(env(tt.changes))
			if tt.wantErr == nil {
				if err != nil || c.RateLimits != tt.want {
					t.Fatalf("LoadConfig: %+v, %v; want %+v", c.RateLimits, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "many") {
				t.Errorf("error %q echoes the value", err)
			}
		})
	}
}

// TestNewLimitsRates: the API that New wires keeps each key's buckets in
// the table, answers with the headers, and 429 past the burst.
func TestNewLimitsRates(t *testing.T) {
	w := newWorld(t)
	ctx := ctxFor(t)
	w.cfg.RateLimits = ratelimit.Limits{Read: ratelimit.Rate{Count: 1, Per: time.Hour, Burst: 2}}
	app, err := newApp(ctx, w.cfg, w.awsCfg, awsapp.Options{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	if _, err := provision.CreateOrg(ctx, w.store, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	key, k, err := provision.CreateAPIKey(ctx, w.store, "acme", identity.RoleViewer, "rita")
	if err != nil {
		t.Fatal(err)
	}
	get := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/storage-configs/setup-info/", nil)
		req.Header.Set("X-Avala-Api-Key", key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i, want := range []struct {
		status    int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		resp := get()
		if resp.StatusCode != want.status || resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != want.remaining {
			t.Errorf("request %d: %d, limit %q, remaining %q; want %d, 2, %s", i, resp.StatusCode,
				resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"), want.status, want.remaining)
		}
	}
	out, err := testenv.SharedDynamoDB(t).Client(t).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(w.cfg.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RATE#" + k.ID + "#read"}, "sk": &types.AttributeValueMemberS{Value: "RATE"},
		},
	})
	if err != nil || out.Item["tat_us"] == nil || out.Item["expires_at"] == nil {
		t.Errorf("the key's read bucket in the table: %v, %v", out, err)
	}
}
