package anyblob_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestCreateRefusesPlainHTTP drives the storage-configs API's create, as
// `bucketlink serve` wires it with private endpoints disallowed: an
// azure_blob config with an http:// azure_endpoint_url (its SAS token would
// travel in clear) and an s3_compatible one with an http:// s3_endpoint_url
// answer 400 on that field, and nothing is stored.
func TestCreateRefusesPlainHTTP(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "bucketlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := localseal.Open(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := provision.Bootstrap(t.Context(), st, dir)
	if err != nil {
		t.Fatal(err)
	}
	api := &httpapi.Server{
		Store:     st,
		Sealer:    sealer,
		Verifier:  &verify.Verifier{Opener: &anyblob.Opener{HTTPClient: netguard.Policy{}.HTTPClient()}},
		CursorKey: sealer.DeriveKey("pagination-cursor"),
		Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, body, field string
	}{
		{"azure_blob with a SAS token", `{"name": "plain", "provider": "azure_blob", "azure_account_name": "acme",
			"azure_container_name": "data", "azure_endpoint_url": "http://acme.blob.example.com/",
			"azure_sas_token": "sv=2022-11-02&sr=c&sp=racwdl&se=2099-01-01T00:00:00Z&sig=c2lnbmF0dXJl"}`, "azure_endpoint_url"},
		{"s3_compatible", `{"name": "plain", "provider": "s3_compatible", "s3_endpoint_url": "http://s3.example.com",
			"s3_bucket_name": "data", "s3_access_key_id": "AKIAPLAIN", "s3_secret_access_key": "plain-secret"}`, "s3_endpoint_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/storage-configs/", strings.NewReader(tc.body))
			req.Header.Set("X-Avala-Api-Key", key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var errs map[string][]string
			if err := json.NewDecoder(resp.Body).Decode(&errs); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d (%v), want 400", resp.StatusCode, errs)
			}
			if msgs := errs[tc.field]; len(errs) != 1 || len(msgs) != 1 || !strings.Contains(msgs[0], "https://") {
				t.Fatalf("errors %v, want one message on %s asking for https://", errs, tc.field)
			}
			t.Logf("%s: %s", tc.field, errs[tc.field][0])
		})
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/storage-configs/", nil)
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Results) != 0 {
		t.Fatalf("list after refused creates: %d configs, %v; want none", len(list.Results), err)
	}
}
