package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// downSealer stands for KMS after kmsseal's retries gave up: kmsseal's own
// tests produce this error against moto behind a failing proxy; here it
// checks only how the HTTP edge answers it.
type downSealer struct{}

func (downSealer) Seal(context.Context, []byte, seal.Binding) ([]byte, error) {
	return nil, errcode.Wrap(errcode.Unavailable, context.DeadlineExceeded, "kms GenerateDataKey: ThrottlingException after 5 attempts")
}

func (downSealer) Open(context.Context, []byte, seal.Binding) ([]byte, error) {
	return nil, errcode.Wrap(errcode.Unavailable, context.DeadlineExceeded, "kms Decrypt")
}

type passVerifier struct{}

func (passVerifier) Verify(context.Context, *storageconfig.Config, storageconfig.Credentials) verify.Result {
	return verify.Result{}
}

// TestSealerOutageIs503 checks that a KMS outage answers 503 with a generic
// JSON body, a request id and Retry-After, never a 500 or internals.
func TestSealerOutageIs503(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org, err := provision.CreateOrg(ctx, st, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := provision.CreateAPIKey(ctx, st, "acme", identity.RoleAdmin, "ann")
	if err != nil {
		t.Fatal(err)
	}
	api := &httpapi.Server{Store: st, Sealer: downSealer{}, Verifier: passVerifier{}, CursorKey: make([]byte, 32)}
	body := `{"name":"n","provider":"aws_s3","s3_bucket_name":"acme-datasets","s3_bucket_region":"us-west-2",` +
		`"s3_access_key_id":"AKIAIOSFODNN7EXAMPLE","s3_secret_access_key":"not-a-real-secret"}`
	req := httptest.NewRequest("POST", "/api/v1/storage-configs/", strings.NewReader(body))
	req.Header.Set("X-Avala-Api-Key", key)
	rec := httptest.NewRecorder()
	openapitest.Handler(t, api.Handler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["request_id"] == "" || got["request_id"] != rec.Header().Get("X-Request-Id") ||
		strings.Contains(got["detail"], "kms") || strings.Contains(got["detail"], "Throttling") {
		t.Errorf("503 body = %s", rec.Body)
	}
	if page, _ := st.ListConfigs(ctx, org.ID, store.ListOptions{Limit: 10}); len(page.Items) != 0 {
		t.Error("a config was stored although sealing failed")
	}
}
