package lambdatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
)

// apiBase is where the fixtures' API lives (their requestContext.domainName):
// the handler builds Location and next/previous links from it.
const apiBase = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/api/v1/storage-configs/"

type configBody struct {
	UID          string `json:"uid"`
	Name         string `json:"name"`
	Provider     string `json:"provider"`
	IsVerified   bool   `json:"is_verified"`
	S3BucketName string `json:"s3_bucket_name"`
}

type listBody struct {
	Next     *string      `json:"next"`
	Previous *string      `json:"previous"`
	Results  []configBody `json:"results"`
}

// historyBody is a page of a config's verification history.
type historyBody struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []struct {
		VerifiedAt string `json:"verified_at"`
		Verified   bool   `json:"verified"`
		Trigger    string `json:"trigger"`
		Checks     []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	} `json:"results"`
}

func decode[T any](t *testing.T, resp events.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

func wantStatus(t *testing.T, what string, resp events.APIGatewayV2HTTPResponse, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.StatusCode, code, resp.Body)
	}
	if !strings.HasPrefix(resp.Headers["X-Request-Id"], "req_") {
		t.Errorf("%s: no X-Request-Id in %v", what, resp.Headers)
	}
}

// TestFunctionsServeTheAPI runs every function's real bootstrap as Lambda
// would, against DynamoDB Local, moto's KMS and Secrets Manager, and MinIO,
// and walks the API through the events of infra/events.
func TestFunctionsServeTheAPI(t *testing.T) {
	s := newStack(t)
	fns := map[string]*lambdatest.Function{}
	for _, name := range storageConfigFunctions {
		fns[name] = s.start(t, name, s.env(name))
	}
	acme, acmeKey := s.newOrg(t, "acme")
	_, otherKey := s.newOrg(t, "other")
	b := s.newBucket(t)

	// create: 201, verified against the real bucket, sealed with KMS.
	resp := invokeHTTP(t, fns["create-storage-config"], s.event(t, "create-storage-config", edit{apiKey: acmeKey, bucket: b}))
	wantStatus(t, "create", resp, http.StatusCreated)
	first := decode[configBody](t, resp)
	if first.UID == "" || !first.IsVerified || first.Provider != "aws_s3" || first.S3BucketName != b.name {
		t.Fatalf("create: body %s", resp.Body)
	}
	if got, want := resp.Headers["Location"], apiBase+first.UID+"/"; got != want {
		t.Errorf("create: Location %q, want %q", got, want)
	}
	s.checkSealedWithKMS(t, acme.ID, first.UID, b)
	resp = invokeHTTP(t, fns["create-storage-config"], s.event(t, "create-storage-config", edit{apiKey: acmeKey, bucket: b}))
	wantStatus(t, "second create", resp, http.StatusCreated)
	second := decode[configBody](t, resp)

	// list: newest first, one per page; the next link works on another
	// instance of the function, which reads the same cursor key.
	resp = invokeHTTP(t, fns["list-storage-configs"], s.event(t, "list-storage-configs", edit{apiKey: acmeKey, query: url.Values{"limit": {"1"}}}))
	wantStatus(t, "list", resp, http.StatusOK)
	page := decode[listBody](t, resp)
	if len(page.Results) != 1 || page.Results[0].UID != second.UID || page.Next == nil {
		t.Fatalf("list: body %s", resp.Body)
	}
	next, err := url.Parse(*page.Next)
	if err != nil || !strings.HasPrefix(*page.Next, apiBase+"?") {
		t.Fatalf("list: next link %q is not on the API's URL", *page.Next)
	}
	otherList := s.start(t, "list-storage-configs", s.env("list-storage-configs"))
	resp = invokeHTTP(t, otherList, s.event(t, "list-storage-configs", edit{apiKey: acmeKey, query: next.Query()}))
	wantStatus(t, "list, next page on another instance", resp, http.StatusOK)
	page = decode[listBody](t, resp)
	if len(page.Results) != 1 || page.Results[0].UID != first.UID || page.Previous == nil {
		t.Fatalf("list, next page: body %s", resp.Body)
	}

	// get: 200 in the org, 403 from another org.
	resp = invokeHTTP(t, fns["get-storage-config"], s.event(t, "get-storage-config", edit{apiKey: acmeKey, uid: first.UID}))
	wantStatus(t, "get", resp, http.StatusOK)
	if got := decode[configBody](t, resp); got.UID != first.UID || got.Name != "Production S3 Bucket" {
		t.Errorf("get: body %s", resp.Body)
	}
	resp = invokeHTTP(t, fns["get-storage-config"], s.event(t, "get-storage-config", edit{apiKey: otherKey, uid: first.UID}))
	wantStatus(t, "get from another org", resp, http.StatusForbidden)

	// test: opens the credentials with KMS and verifies again.
	resp = invokeHTTP(t, fns["test-storage-config"], s.event(t, "test-storage-config", edit{apiKey: acmeKey, uid: first.UID}))
	wantStatus(t, "test", resp, http.StatusOK)
	if got := decode[struct {
		Verified bool `json:"verified"`
	}](t, resp); !got.Verified {
		t.Errorf("test: body %s", resp.Body)
	}

	// verifications: the config's history, newest first, one per page: the
	// test, then, through the next link on another instance of the
	// function (the same cursor secret), the create.
	resp = invokeHTTP(t, fns["list-config-verifications"], s.event(t, "list-config-verifications", edit{apiKey: acmeKey, uid: first.UID, query: url.Values{"limit": {"1"}}}))
	wantStatus(t, "verifications", resp, http.StatusOK)
	hist := decode[historyBody](t, resp)
	if len(hist.Results) != 1 || hist.Results[0].Trigger != "test" || !hist.Results[0].Verified || hist.Next == nil || hist.Previous != nil {
		t.Fatalf("verifications: body %s", resp.Body)
	}
	historyBase := apiBase + first.UID + "/verifications/?"
	if !strings.HasPrefix(*hist.Next, historyBase) {
		t.Fatalf("verifications: next link %q is not on %s", *hist.Next, historyBase)
	}
	next, err = url.Parse(*hist.Next)
	if err != nil {
		t.Fatal(err)
	}
	otherHistory := s.start(t, "list-config-verifications", s.env("list-config-verifications"))
	resp = invokeHTTP(t, otherHistory, s.event(t, "list-config-verifications", edit{apiKey: acmeKey, uid: first.UID, query: next.Query()}))
	wantStatus(t, "verifications, next page on another instance", resp, http.StatusOK)
	hist = decode[historyBody](t, resp)
	if len(hist.Results) != 1 || hist.Results[0].Trigger != "create" || !hist.Results[0].Verified ||
		len(hist.Results[0].Checks) == 0 || hist.Results[0].VerifiedAt == "" || hist.Next != nil || hist.Previous == nil {
		t.Fatalf("verifications, next page: body %s", resp.Body)
	}
	resp = invokeHTTP(t, fns["list-config-verifications"], s.event(t, "list-config-verifications", edit{apiKey: otherKey, uid: first.UID}))
	wantStatus(t, "verifications from another org", resp, http.StatusForbidden)

	// patch: the event renames the second config (200, the config as
	// stored); get sees the new name, another org is refused, and the
	// credentials written back with it still open (test verifies).
	resp = invokeHTTP(t, fns["patch-storage-config"], s.event(t, "patch-storage-config", edit{apiKey: acmeKey, uid: second.UID}))
	wantStatus(t, "patch", resp, http.StatusOK)
	if got := decode[configBody](t, resp); got.UID != second.UID || got.Name != "renamed" || !got.IsVerified {
		t.Errorf("patch: body %s", resp.Body)
	}
	resp = invokeHTTP(t, fns["get-storage-config"], s.event(t, "get-storage-config", edit{apiKey: acmeKey, uid: second.UID}))
	wantStatus(t, "get after patch", resp, http.StatusOK)
	if got := decode[configBody](t, resp); got.Name != "renamed" {
		t.Errorf("get after patch: body %s", resp.Body)
	}
	resp = invokeHTTP(t, fns["patch-storage-config"], s.event(t, "patch-storage-config", edit{apiKey: otherKey, uid: second.UID}))
	wantStatus(t, "patch from another org", resp, http.StatusForbidden)
	resp = invokeHTTP(t, fns["test-storage-config"], s.event(t, "test-storage-config", edit{apiKey: acmeKey, uid: second.UID}))
	wantStatus(t, "test after patch", resp, http.StatusOK)
	if got := decode[struct {
		Verified bool `json:"verified"`
	}](t, resp); !got.Verified {
		t.Errorf("test after patch: body %s", resp.Body)
	}

	// setup-info: the configured account and the org's external id.
	resp = invokeHTTP(t, fns["get-setup-info"], s.event(t, "get-setup-info", edit{apiKey: acmeKey}))
	wantStatus(t, "setup-info", resp, http.StatusOK)
	info := decode[map[string]string](t, resp)
	if info["avala_aws_account_id"] != s.account || info["external_id"] != acme.ExternalID {
		t.Errorf("setup-info: body %s, want account %s and external id %s", resp.Body, s.account, acme.ExternalID)
	}

	// delete: 204, then the config is gone.
	resp = invokeHTTP(t, fns["delete-storage-config"], s.event(t, "delete-storage-config", edit{apiKey: acmeKey, uid: first.UID}))
	wantStatus(t, "delete", resp, http.StatusNoContent)
	resp = invokeHTTP(t, fns["get-storage-config"], s.event(t, "get-storage-config", edit{apiKey: acmeKey, uid: first.UID}))
	wantStatus(t, "get after delete", resp, http.StatusNotFound)

	// A bad key: the same 401 from every function.
	badKey := "blk_" + randomString(36)
	for _, name := range storageConfigFunctions {
		resp := invokeHTTP(t, fns[name], s.event(t, name, edit{apiKey: badKey, uid: second.UID, bucket: b}))
		wantStatus(t, name+" with a bad key", resp, http.StatusUnauthorized)
		if resp.Body != `{"detail":"Invalid API key."}` && strings.TrimSpace(resp.Body) != `{"detail":"Invalid API key."}` {
			t.Errorf("%s with a bad key: body %s", name, resp.Body)
		}
		if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s with a bad key: Content-Type %q", name, ct)
		}
	}
}

// checkSealedWithKMS reads the stored config and opens its envelope with
// the stack's KMS key and the config's binding, as the test function does.
func (s *stack) checkSealedWithKMS(t *testing.T, orgID int64, uid string, b bucket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.store.GetConfig(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sealed) == 0 || strings.Contains(string(c.Sealed), b.secretAccessKey) {
		t.Fatalf("stored config %s: sealed credentials missing or in clear", uid)
	}
	sealer := kmsseal.New(kms.NewFromConfig(s.moto.AWSConfig()), s.keyID)
	plain, err := sealer.Open(ctx, c.Sealed, seal.Binding{OrgID: orgID, ConfigUID: uid})
	if err != nil {
		t.Fatalf("open the stored envelope with KMS: %v", err)
	}
	if !strings.Contains(string(plain), b.accessKeyID) {
		t.Errorf("the stored envelope does not hold the config's credentials")
	}
	if _, err := sealer.Open(ctx, c.Sealed, seal.Binding{OrgID: orgID + 1, ConfigUID: uid}); err == nil {
		t.Errorf("the envelope opened for another org")
	}
}

// TestFunctionsFailFastOnBadConfiguration checks that a function with a
// wrong environment exits during init, before asking for an event, and
// names every wrong variable without echoing secrets.
func TestFunctionsFailFastOnBadConfiguration(t *testing.T) {
	s := newStack(t)
	without := func(env []string, names ...string) []string {
		var out []string
	next:
		for _, kv := range env {
			for _, n := range names {
				if strings.HasPrefix(kv, n+"=") {
					continue next
				}
			}
			out = append(out, kv)
		}
		return out
	}
	tests := []struct {
		name     string
		function string
		env      func() []string
		want     []string
	}{
		{
			name:     "missing table, bad account id and deadline",
			function: "get-storage-config",
			env: func() []string {
				return append(without(s.env("get-storage-config"), "BUCKETLINK_TABLE", "BUCKETLINK_AWS_ACCOUNT_ID", "BUCKETLINK_VERIFY_DEADLINE"),
					"BUCKETLINK_AWS_ACCOUNT_ID=1234", "BUCKETLINK_VERIFY_DEADLINE=40s")
			},
			want: []string{"BUCKETLINK_TABLE is required", "BUCKETLINK_AWS_ACCOUNT_ID must be a 12-digit", "BUCKETLINK_VERIFY_DEADLINE must be positive and at most 25s"},
		},
		{
			name:     "list without its cursor secret",
			function: "list-storage-configs",
			env:      func() []string { return without(s.env("list-storage-configs"), "BUCKETLINK_CURSOR_SECRET_ID") },
			want:     []string{"BUCKETLINK_CURSOR_SECRET_ID is required"},
		},
		{
			name:     "verification history without its cursor secret",
			function: "list-config-verifications",
			env:      func() []string { return without(s.env("list-config-verifications"), "BUCKETLINK_CURSOR_SECRET_ID") },
			want:     []string{"BUCKETLINK_CURSOR_SECRET_ID is required"},
		},
		{
			name:     "verify-bucket without its queue and record-key secret",
			function: "verify-bucket",
			env: func() []string {
				return without(s.env("verify-bucket"), "BUCKETLINK_VERIFY_QUEUE_URL", "BUCKETLINK_VERIFY_KEY_SECRET_ID")
			},
			want: []string{"BUCKETLINK_VERIFY_QUEUE_URL is required", "BUCKETLINK_VERIFY_KEY_SECRET_ID is required"},
		},
		{
			name:     "list with a cursor secret that does not exist",
			function: "list-storage-configs",
			env: func() []string {
				return append(without(s.env("list-storage-configs"), "BUCKETLINK_CURSOR_SECRET_ID"), "BUCKETLINK_CURSOR_SECRET_ID=no-such-secret")
			},
			want: []string{"read cursor secret no-such-secret", "ResourceNotFoundException"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bootstrap := lambdatest.BuildFunction(t, s.root, tt.function, lambdatest.HostTarget())
			f := lambdatest.Start(t, bootstrap, lambdatest.Options{Name: tt.function, Env: tt.env()})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := f.WaitInit(ctx); err == nil {
				t.Fatal("the function finished its init")
			}
			if err := f.ExitError(); err == nil {
				t.Error("the function exited with status 0")
			}
			out := f.Output()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			s.checkNoSecrets(t, "init error", out)
		})
	}
}
