package httpapi_test

import (
	"net/http"
	"testing"
)

// TestSetupInfoGCPPrincipal checks the additive gc_storage_principal of
// setup-info: bucketlink's own Google principal when the operator
// configures one, and no such field otherwise.
func TestSetupInfoGCPPrincipal(t *testing.T) {
	e := newEnv(t, 0)
	path := "/api/v1/storage-configs/setup-info/"
	si := e.do("GET", path, e.keys["acme/viewer"], nil)
	wantStatus(t, si, http.StatusOK)
	if _, ok := si.json(t)["gc_storage_principal"]; ok {
		t.Errorf("setup-info without a configured principal = %s, want no gc_storage_principal", si.Body)
	}
	const principal = "bucketlink@bucketlink-prod.iam.gserviceaccount.com"
	e.api.GCPPrincipal = principal
	si = e.do("GET", path, e.keys["acme/viewer"], nil)
	wantStatus(t, si, http.StatusOK)
	got := si.json(t)
	if got["gc_storage_principal"] != principal || got["avala_aws_account_id"] != e.account || len(got) != 3 {
		t.Errorf("setup-info = %s, want the account, the external id and gc_storage_principal %s", si.Body, principal)
	}
}
