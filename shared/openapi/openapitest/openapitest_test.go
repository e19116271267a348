package openapitest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/openapi"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
)

// TestDocumentIsValid loads the document with kin-openapi and validates it
// as OpenAPI 3.1.
func TestDocumentIsValid(t *testing.T) {
	v := openapitest.Must(t)
	_ = v
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
}

// TestCheck checks the validator against answers it must accept and
// answers it must refuse.
func TestCheck(t *testing.T) {
	v := openapitest.Must(t)
	const uid = "5f0c9a52-6a0e-4d0e-9b1a-2f4c6d8e0a1b"
	config := `{"uid":"` + uid + `","id":3,"name":"n","provider":"aws_s3","s3_bucket_name":"b","s3_bucket_region":"us-east-1",
		"s3_bucket_prefix":null,"s3_is_accelerated":false,"gc_storage_bucket_name":null,"gc_storage_prefix":null,"is_verified":true,
		"last_verified_at":"2025-01-15T09:30:00Z","created_at":"2025-01-15T09:30:00Z","updated_at":"2025-01-15T09:30:00Z",
		"some_field_added_later":{"x":1}}`
	jsonHeader := func(extra ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_0123456789abcdef"}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"config", "GET", "/api/v1/storage-configs/" + uid + "/", 200, jsonHeader(), config, true},
		{"config without slash", "GET", "/api/v1/storage-configs/" + uid, 200, jsonHeader(), config, true},
		{"config with rate-limit headers", "GET", "/api/v1/storage-configs/" + uid + "/", 200,
			jsonHeader("X-RateLimit-Limit", "120", "X-RateLimit-Remaining", "119", "X-RateLimit-Reset", "1"), config, true},
		{"rate-limit header not a number", "GET", "/api/v1/storage-configs/" + uid + "/", 200,
			jsonHeader("X-RateLimit-Limit", "lots"), config, false},
		{"config missing a documented field", "GET", "/api/v1/storage-configs/" + uid + "/", 200, jsonHeader(),
			strings.Replace(config, `"is_verified":true,`, "", 1), false},
		{"s3_is_accelerated null", "GET", "/api/v1/storage-configs/" + uid + "/", 200, jsonHeader(),
			strings.Replace(config, `"s3_is_accelerated":false`, `"s3_is_accelerated":null`, 1), false},
		{"no request id", "GET", "/api/v1/storage-configs/" + uid + "/", 200, http.Header{"Content-Type": {"application/json"}}, config, false},
		{"undocumented status", "GET", "/api/v1/storage-configs/" + uid + "/", 418, jsonHeader(), `{"detail":"teapot"}`, false},
		{"field errors", "POST", "/api/v1/storage-configs/", 400, jsonHeader(), `{"s3_bucket_name":["Bucket not found or access denied."]}`, true},
		{"field errors not lists", "POST", "/api/v1/storage-configs/", 400, jsonHeader(), `{"s3_bucket_name":"Bucket not found."}`, false},
		{"429 without Retry-After", "GET", "/api/v1/storage-configs/", 429, jsonHeader(), `{"detail":"Request was throttled."}`, false},
		{"429", "GET", "/api/v1/storage-configs/", 429, jsonHeader("Retry-After", "3"), `{"detail":"Request was throttled."}`, true},
		{"delete", "DELETE", "/api/v1/storage-configs/" + uid + "/", 204, http.Header{"X-Request-Id": {"r"}}, "", true},
		{"verify connecting", "POST", "/v1/api/organizations/1/buckets/verify", 200, jsonHeader(),
			`{"success":true,"connectionStatus":"connecting","connectionStatusSince":"2026-11-25T09:00:00Z"}`, true},
		{"verify failure", "POST", "/v1/api/organizations/acme/buckets/verify/", 200, jsonHeader(), `{"success":false,"error":"bucket: x"}`, true},
		{"verify unknown state", "POST", "/v1/api/organizations/1/buckets/verify", 200, jsonHeader(), `{"success":true,"connectionStatus":"done"}`, false},
		{"verify success without status", "POST", "/v1/api/organizations/1/buckets/verify", 200, jsonHeader(), `{"success":true}`, false},
		{"existing verify", "POST", "/v1/api/organizations/1/buckets/7/verify", 200, jsonHeader(),
			`{"success":true,"connectionStatus":"connected","files":[{"name":"a","size":1,"folderName":""}],"hasInfoLabelsFile":false,"signedUrl":"https://x"}`, true},
		{"unknown path", "GET", "/nope", 404, jsonHeader(), `{"detail":"Not found."}`, true},
		{"unknown path answered 200", "GET", "/nope", 200, jsonHeader(), `{}`, false},
		{"unlisted method", "PUT", "/api/v1/storage-configs/", 405, jsonHeader("Allow", "GET, POST"), `{"detail":"Method \"PUT\" not allowed."}`, true},
		{"unlisted verify method", "GET", "/v1/api/organizations/1/buckets/verify", 405, jsonHeader(), `{"success":false,"error":"Method \"GET\" not allowed."}`, true},
		{"document", "GET", "/openapi.json", 200, jsonHeader(), string(openapi.Document()), true},
		{"connect session", "POST", "/api/v1/connect-sessions/", 201, jsonHeader(),
			`{"id":"cs_1","token":"t","organization":"acme","purpose":"create","expires_at":"2026-12-01T12:15:00.123Z","connect_url":"https://b.example/connect/#session=t"}`, true},
		{"connect session without its token", "POST", "/api/v1/connect-sessions/", 201, jsonHeader(),
			`{"id":"cs_1","organization":"acme","purpose":"create","expires_at":"2026-12-01T12:15:00Z","connect_url":"https://b.example/connect/"}`, false},
		{"connect page", "GET", "/connect/", 200, http.Header{"Content-Type": {"text/html; charset=utf-8"}, "X-Request-Id": {"r"}}, "<!doctype html>", true},
		{"connect page as JSON", "GET", "/connect/", 200, jsonHeader(), "{}", false},
		{"connect page, other method", "POST", "/connect/", 405, http.Header{"Content-Type": {"text/plain"}, "X-Request-Id": {"r"}}, "method not allowed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			err := v.Check(req, tt.status, tt.header, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Check = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestHandlerServesTheDocument checks openapi.Handler: the document, and
// a 405 for other methods, both as the document describes them.
func TestHandlerServesTheDocument(t *testing.T) {
	srv := httptest.NewServer(openapitest.Handler(t, openapi.Handler()))
	defer srv.Close()
	res, err := http.Get(srv.URL + openapi.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	if res.StatusCode != 200 || !bytes.Equal(buf.Bytes(), openapi.Document()) {
		t.Errorf("GET %s: %d, %d bytes; want the document", openapi.Path, res.StatusCode, buf.Len())
	}
	req, _ := http.NewRequest("GET", srv.URL+openapi.Path, nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", again.StatusCode)
	}
	post, err := http.Post(srv.URL+openapi.Path, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", post.StatusCode)
	}
}
