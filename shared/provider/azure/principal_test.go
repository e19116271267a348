package azure_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

const (
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	client = "00000000-0000-4000-8000-000000000003"
	secret = "s3cr~et-value"
)

func create(t *testing.T, fields map[string]any) (*storageconfig.Config, storageconfig.Credentials, errcode.FieldErrors) {
	t.Helper()
	body := map[string]any{"name": "n", "provider": "azure_blob", "azure_account_name": "acmestore", "azure_container_name": "data"}
	for k, v := range fields {
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	c, creds, err := storageconfig.ParseCreate(raw)
	var fe errcode.FieldErrors
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("ParseCreate: %v", err)
	}
	return c, creds, fe
}

// TestAuthMethodInferred checks that a request without azure_auth_method
// means what it meant before the field existed, and that the method is
// then recorded and returned.
func TestAuthMethodInferred(t *testing.T) {
	for _, tt := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"azure_account_key": "a2V5"}, azure.AuthAccountKey},
		{map[string]any{"azure_sas_token": "sv=2024-08-04&sr=c&sp=rwdl&se=2099-01-01T00:00:00Z&sig=x"}, azure.AuthSASToken},
		{map[string]any{"azure_tenant_id": tenant, "azure_client_id": client, "azure_client_secret": secret}, azure.AuthServicePrincipal},
	} {
		c, _, fe := create(t, tt.fields)
		if fe != nil {
			t.Fatalf("%v: %v", tt.fields, fe)
		}
		s := c.Settings.(*azure.Settings)
		if s.AuthMethod() != tt.want || s.Wire()[azure.FieldAuthMethod] != tt.want {
			t.Errorf("%v: auth method %q, wire %v; want %q", tt.fields, s.AuthMethod(), s.Wire()[azure.FieldAuthMethod], tt.want)
		}
	}
	// Both credentials, or none: the answers of before.
	_, _, fe := create(t, map[string]any{"azure_account_key": "a2V5", "azure_sas_token": "sv=x&sig=y"})
	if len(fe) != 2 || fe["azure_account_key"][0] != "Give either azure_account_key or azure_sas_token, not both." {
		t.Errorf("key and token = %v", fe)
	}
	_, _, fe = create(t, nil)
	if len(fe) != 2 || fe["azure_sas_token"][0] != "Give either azure_account_key or azure_sas_token." {
		t.Errorf("no credential = %v", fe)
	}
}

// TestExplicitAuthMethod checks the method's own required and refused
// fields.
func TestExplicitAuthMethod(t *testing.T) {
	sp := func(edit map[string]any) map[string]any {
		f := map[string]any{"azure_auth_method": "service_principal", "azure_tenant_id": tenant, "azure_client_id": client, "azure_client_secret": secret}
		for k, v := range edit {
			if v == nil {
				delete(f, k)
			} else {
				f[k] = v
			}
		}
		return f
	}
	for _, tt := range []struct {
		name   string
		fields map[string]any
		want   map[string]string
	}{
		{"account_key without key", map[string]any{"azure_auth_method": "account_key"}, map[string]string{"azure_account_key": "required"}},
		{"account_key with token", map[string]any{"azure_auth_method": "account_key", "azure_account_key": "a2V5", "azure_sas_token": "sv=x&sig=y"},
			map[string]string{"azure_sas_token": "Not used with"}},
		{"sas_token without token", map[string]any{"azure_auth_method": "sas_token"}, map[string]string{"azure_sas_token": "required"}},
		{"sas_token with tenant", map[string]any{"azure_auth_method": "sas_token", "azure_sas_token": "sv=2024-08-04&sr=c&sp=rl&se=2099-01-01T00:00:00Z&sig=x", "azure_tenant_id": tenant},
			map[string]string{"azure_tenant_id": "Only used with"}},
		{"unknown", map[string]any{"azure_auth_method": "msi"}, map[string]string{"azure_auth_method": "service_principal"}},
		{"no client id", sp(map[string]any{"azure_client_id": nil}), map[string]string{"azure_client_id": "required"}},
		{"object id for client", sp(map[string]any{"azure_client_id": "my-app"}), map[string]string{"azure_client_id": "GUID"}},
		{"blank secret", sp(map[string]any{"azure_client_secret": "  "}), map[string]string{"azure_client_secret": "blank"}},
		{"long secret", sp(map[string]any{"azure_client_secret": strings.Repeat("s", 4097)}), map[string]string{"azure_client_secret": "at most"}},
		{"tenant path", sp(map[string]any{"azure_tenant_id": "contoso.com/../x"}), map[string]string{"azure_tenant_id": "GUID"}},
		{"common tenant", sp(map[string]any{"azure_tenant_id": "common"}), map[string]string{"azure_tenant_id": "GUID"}},
		{"with key", sp(map[string]any{"azure_account_key": "a2V5"}), map[string]string{"azure_account_key": "Not used with"}},
		{"http endpoint", sp(map[string]any{"azure_endpoint_url": "http://acmestore.blob.core.windows.net/"}), map[string]string{"azure_endpoint_url": "Entra ID authority"}},
		{"emulator endpoint", sp(map[string]any{"azure_endpoint_url": "https://127.0.0.1:10000/acmestore"}), map[string]string{"azure_endpoint_url": "Entra ID authority"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, fe := create(t, tt.fields)
			if len(fe) != len(tt.want) {
				t.Fatalf("errors = %v, want on %v", fe, tt.want)
			}
			for f, sub := range tt.want {
				if len(fe[f]) == 0 || !strings.Contains(fe[f][0], sub) {
					t.Errorf("%s = %v, want %q", f, fe[f], sub)
				}
			}
			for _, msgs := range fe {
				for _, m := range msgs {
					if strings.Contains(m, secret) {
						t.Errorf("a message quotes the secret: %s", m)
					}
				}
			}
		})
	}
}

// TestServicePrincipalSettings checks the normalised settings of a service
// principal (IDs in lower case, a verified domain kept), its sealed
// credential, its wire fields and its stored document, and that a
// document of before azure_auth_method decodes with no method.
func TestServicePrincipalSettings(t *testing.T) {
	c, creds, fe := create(t, map[string]any{"azure_auth_method": "service_principal", "azure_tenant_id": " Contoso.onmicrosoft.com ",
		"azure_client_id": strings.ToUpper(client), "azure_client_secret": secret, "azure_endpoint_url": "https://acmestore.blob.core.chinacloudapi.cn/"})
	if fe != nil {
		t.Fatal(fe)
	}
	s := c.Settings.(*azure.Settings)
	if s.TenantID != "contoso.onmicrosoft.com" || s.ClientID != client || !s.ServicePrincipal() {
		t.Errorf("settings = %+v", s)
	}
	if len(creds) != 1 || creds[azure.CredClientSecret] != secret {
		t.Errorf("credentials = %v, want the secret alone", creds)
	}
	w := s.Wire()
	if w[azure.FieldTenantID] != "contoso.onmicrosoft.com" || w[azure.FieldClientID] != client {
		t.Errorf("wire = %v", w)
	}
	if _, ok := w[azure.FieldClientSecret]; ok {
		t.Error("the wire has the secret")
	}
	doc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), secret) {
		t.Fatalf("the settings document holds the secret: %s", doc)
	}
	back, err := azure.Provider.Decode(doc)
	if err != nil || *back.(*azure.Settings) != *s {
		t.Errorf("Decode(%s) = %+v, %v; want %+v", doc, back, err, s)
	}
	old, err := azure.Provider.Decode([]byte(`{"azure_account_name":"acmestore","azure_container_name":"data","azure_endpoint_url":"https://acmestore.blob.core.windows.net/"}`))
	if err != nil {
		t.Fatal(err)
	}
	if old.AuthMethod() != "" || old.Wire()[azure.FieldAuthMethod] != nil || old.(*azure.Settings).ServicePrincipal() {
		t.Errorf("a document of before azure_auth_method = %+v", old)
	}
}

// TestServicePrincipalReport checks which field each failure names and the
// role a missing assignment names by access mode.
func TestServicePrincipalReport(t *testing.T) {
	s := &azure.Settings{Account: "acmestore", Container: "data", Endpoint: "https://acmestore.blob.core.windows.net/",
		Auth: azure.AuthServicePrincipal, TenantID: tenant, ClientID: client}
	creds := contract.Credentials{azure.CredClientSecret: secret}
	r := s.ReportMode(creds, false)
	if r.Denied != azure.FieldClientID || r.Secret != azure.FieldTenantID || r.KeyID != azure.FieldAccountName ||
		!r.DeniedBeforeBucket || r.Missing != nil || r.NoPresign != "" || r.Classify == nil {
		t.Errorf("report = %+v", r)
	}
	if !strings.Contains(r.Grant, "Storage Blob Data Contributor") {
		t.Errorf("read_write grant = %q", r.Grant)
	}
	if g := s.ReportMode(creds, true).Grant; !strings.Contains(g, "Storage Blob Data Reader") || strings.Contains(g, "Contributor") {
		t.Errorf("read_only grant = %q", g)
	}
	if m := s.Report(nil).Missing; len(m) != 1 || m[0].Field != azure.FieldClientSecret || !m[0].Secret {
		t.Errorf("missing secret = %+v", m)
	}
	for _, tt := range []struct {
		part, code string
		want       contract.Failure
	}{
		{"tenant", "AADSTS90002", contract.Failure{Code: "invalid_access_key", Field: azure.FieldTenantID}},
		{"client", "AADSTS700016", contract.Failure{Code: "invalid_access_key", Field: azure.FieldClientID}},
		{"secret", "AADSTS7000215", contract.Failure{Code: "signature_mismatch", Field: azure.FieldClientSecret}},
		{"", "AADSTS53003", contract.Failure{Code: "invalid_access_key", Field: azure.FieldClientID}},
		{"", "", contract.Failure{Code: "sts_unavailable", Field: errcode.NonField}},
	} {
		f, ok := r.Classify(contract.CheckList, fakeEntra{tt.part, tt.code})
		if !ok || f.Code != tt.want.Code || f.Field != tt.want.Field || f.Msg == "" {
			t.Errorf("Classify(%q, %q) = %+v, %v; want %+v", tt.part, tt.code, f, ok, tt.want)
		}
		if tt.code != "" && tt.part == "" && !strings.Contains(f.Msg, tt.code) {
			t.Errorf("an unrecognised refusal does not name %s: %s", tt.code, f.Msg)
		}
	}
	if _, ok := r.Classify(contract.CheckList, errors.New("other")); ok {
		t.Error("Classify claims an error that is not Entra's")
	}
	// An account key's report is not a principal's.
	key := &azure.Settings{Account: "acmestore", Container: "data", Auth: azure.AuthAccountKey}
	if r := key.ReportMode(contract.Credentials{azure.CredAccountKey: "a2V5"}, true); r.Classify != nil || r.Denied != azure.FieldAccountKey {
		t.Errorf("account key report = %+v", r)
	}
}

// fakeEntra stands for azureblob.EntraError, which this package does not
// link.
type fakeEntra struct{ part, code string }

func (e fakeEntra) Error() string         { return "entra: " + e.part + " " + e.code }
func (e fakeEntra) EntraRejected() string { return e.part }
func (e fakeEntra) EntraCode() string     { return e.code }

// TestWorkloadIdentity checks the method without a secret: the tenant and
// client IDs only, a secret refused, nothing sealed, a report without a
// missing secret.
func TestWorkloadIdentity(t *testing.T) {
	c, creds, fe := create(t, map[string]any{"azure_auth_method": "workload_identity", "azure_tenant_id": tenant, "azure_client_id": client})
	if fe != nil {
		t.Fatal(fe)
	}
	s := c.Settings.(*azure.Settings)
	if !s.Federated() || !s.ServicePrincipal() || len(creds) != 0 || s.Report(creds).Missing != nil {
		t.Errorf("settings %+v, credentials %v, missing %v", s, creds, s.Report(creds).Missing)
	}
	_, _, fe = create(t, map[string]any{"azure_auth_method": "workload_identity", "azure_tenant_id": tenant, "azure_client_id": client, "azure_client_secret": secret})
	if len(fe) != 1 || !strings.Contains(fe["azure_client_secret"][0], "without a secret") {
		t.Errorf("a secret with workload_identity = %v", fe)
	}
	_, _, fe = create(t, map[string]any{"azure_auth_method": "workload_identity", "azure_client_id": client})
	if len(fe) != 1 || !strings.Contains(fe["azure_tenant_id"][0], "required with azure_auth_method \"workload_identity\"") {
		t.Errorf("no tenant = %v", fe)
	}
	r := s.ReportMode(creds, false)
	if f, ok := r.Classify(contract.CheckList, fakeEntra{"federation", "AADSTS700213"}); !ok || f.Field != azure.FieldClientID || !strings.Contains(f.Msg, "azure_federated_credential") {
		t.Errorf("a refused federation = %+v", f)
	}
}
