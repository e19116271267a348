package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestServeOtherProviders runs `bucketlink serve` with the emulator
// overrides in its environment: gc_storage service-account configs reach
// fake-gcs-server, and azure_blob configs without azure_endpoint_url reach
// Azurite, while the response shows the account's derived Azure endpoint.
func TestServeOtherProviders(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	a := testenv.StartAzurite(t)
	for k, v := range map[string]string{
		"BUCKETLINK_GCS_ENDPOINT":            g.Endpoint,
		"BUCKETLINK_AZURE_BLOB_ENDPOINT":     a.URL,
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS": "true",
	} {
		t.Setenv(k, v)
	}
	bucket := testenv.BucketName(t, "serve")
	g.CreateBucket(t, bucket)
	container := testenv.ContainerName(t, "serve")
	a.CreateContainer(t, container)

	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/api/v1/storage-configs/", key: strings.TrimSpace(string(key))}

	var gcs map[string]any
	c.do("POST", "", map[string]any{"name": "GCS", "provider": "gc_storage", "gc_storage_bucket_name": bucket,
		"gc_storage_auth_json_content": anyblobtest.ServiceAccountJSON(t, nil)}, http.StatusCreated, &gcs)
	if gcs["gc_storage_bucket_name"] != bucket || gcs["is_verified"] != true {
		t.Errorf("gc_storage config = %v", gcs)
	}

	var azure map[string]any
	body := c.do("POST", "", map[string]any{"name": "Azure", "provider": "azure_blob", "azure_account_name": a.AccountName,
		"azure_container_name": container, "azure_account_key": a.AccountKey}, http.StatusCreated, &azure)
	if azure["azure_endpoint_url"] != "https://"+a.AccountName+".blob.core.windows.net/" || azure["is_verified"] != true {
		t.Errorf("azure_blob config = %v", azure)
	}
	if strings.Contains(body, a.AccountKey) {
		t.Error("the answer carries the account key")
	}
}

func TestServeConfigOverrides(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"emulators", []string{"--gcs-endpoint", "http://127.0.0.1:4443", "--gcs-hmac-endpoint", "http://127.0.0.1:9000",
			"--gcs-hmac-region", "us-east-1", "--azure-blob-endpoint", "http://127.0.0.1:10000"}, true},
		{"relative gcs endpoint", []string{"--gcs-endpoint", "127.0.0.1:4443"}, false},
		{"ftp hmac endpoint", []string{"--gcs-hmac-endpoint", "ftp://127.0.0.1"}, false},
		{"azure endpoint without host", []string{"--azure-blob-endpoint", "http://"}, false},
		{"empty hmac region", []string{"--gcs-hmac-region", ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeConfig(tt.args)
			if (err == nil) != tt.ok {
				t.Fatalf("parseServeConfig(%q) = %v, want ok %v", tt.args, err, tt.ok)
			}
			if tt.ok && tt.args == nil && cfg.GCSHMACRegion != "auto" {
				t.Errorf("default HMAC region = %q, want auto", cfg.GCSHMACRegion)
			}
		})
	}
}
