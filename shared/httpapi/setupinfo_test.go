package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/httpapi"
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

// TestSetupInfoAzureFederation checks the additive
// azure_federated_credential of setup-info: the issuer and subject of
// bucketlink's own tokens and Entra's audience, when the operator
// configures them, and no such field otherwise; and that the guidance of
// an azure_blob bucket names the RBAC role of a service principal.
func TestSetupInfoAzureFederation(t *testing.T) {
	e := newEnv(t, 0)
	path := "/api/v1/storage-configs/setup-info/"
	si := e.do("GET", path, e.keys["acme/viewer"], nil)
	wantStatus(t, si, http.StatusOK)
	if _, ok := si.json(t)["azure_federated_credential"]; ok {
		t.Errorf("setup-info without a configured federation = %s", si.Body)
	}
	e.api.AzureFederation = httpapi.AzureFederation{Issuer: "https://abc.tokens.sts.global.api.aws", Subject: "arn:aws:iam::123456789012:role/bucketlink-verify"}
	si = e.do("GET", path, e.keys["acme/viewer"], nil)
	wantStatus(t, si, http.StatusOK)
	fc, _ := si.json(t)["azure_federated_credential"].(map[string]any)
	if fc["issuer"] != "https://abc.tokens.sts.global.api.aws" || fc["subject"] != "arn:aws:iam::123456789012:role/bucketlink-verify" ||
		fc["audience"] != "api://AzureADTokenExchange" || len(fc) != 3 {
		t.Errorf("setup-info = %s, want azure_federated_credential", si.Body)
	}
	for mode, role := range map[string]string{"read_write": "Storage Blob Data Contributor", "read_only": "Storage Blob Data Reader"} {
		g := e.do("GET", path+"?provider=azure_blob&bucket=datasets&access_mode="+mode, e.keys["acme/viewer"], nil)
		wantStatus(t, g, http.StatusOK)
		if !strings.Contains(string(g.Body), `"role":"`+role+`"`) || !strings.Contains(string(g.Body), "service_principal") {
			t.Errorf("%s guidance = %s, want the role %s and the service principal's note", mode, g.Body, role)
		}
	}
}
