package openapitest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
)

// BenchmarkCheck is the cost of checking one answer (route, status,
// headers, body), which every e2e answer pays.
func BenchmarkCheck(b *testing.B) {
	v := openapitest.Must(b)
	h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r"}}
	body := []byte(`{"success":true,"connectionStatus":"connecting","connectionStatusSince":"2026-11-25T09:00:00Z"}`)
	req := httptest.NewRequest("POST", "/v1/api/organizations/1/buckets/verify", nil)
	for b.Loop() {
		if err := v.Check(req, 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}
