package httpapi_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/infra/testenv/entrafake"
	"github.com/bucketlink/bucketlink/infra/testenv/webidentityfake"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/provider/azure/azureopen"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// rbacGate is a loopback front of Azurite that holds Azure's role
// assignments, which Azurite does not have (its --oauth basic accepts
// any token of a valid issuer and audience): a request whose bearer token
// entrafake issued to a principal without the data action it needs is
// answered as Azure answers it, 403 with error code
// AuthorizationPermissionMismatch
// (https://learn.microsoft.com/en-us/rest/api/storageservices/blob-service-error-codes);
// everything else goes to Azurite unchanged. The data actions of the two
// roles are Microsoft's
// (https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/storage):
// Storage Blob Data Reader reads and lists blobs and gets a user
// delegation key; Storage Blob Data Contributor also writes and deletes.
type rbacGate struct {
	srv   *httptest.Server
	entra *entrafake.Server

	mu    sync.Mutex
	roles map[string]string // object id -> role
}

func startRBACGate(t *testing.T, az *testenv.Azurite, entra *entrafake.Server) *rbacGate {
	t.Helper()
	target, err := url.Parse(az.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = az.HTTPClient().Transport
	g := &rbacGate{entra: entra, roles: map[string]string{}}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.denied(r) {
			w.Header().Set("x-ms-error-code", "AuthorizationPermissionMismatch")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_ = xml.NewEncoder(w).Encode(struct {
				XMLName xml.Name `xml:"Error"`
				Code    string
				Message string
			}{Code: "AuthorizationPermissionMismatch", Message: "This request is not authorized to perform this operation using this permission."})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *rbacGate) assign(objectID, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.roles[objectID] = role
}

// denied reports a bearer-token request its principal's role does not
// allow.
func (g *rbacGate) denied(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false // Shared Key or SAS: Azurite decides
	}
	app, ok := g.entra.AppOf(tok)
	if !ok {
		return false // Azurite refuses a token entrafake did not issue
	}
	g.mu.Lock()
	role := g.roles[app.ObjectID]
	g.mu.Unlock()
	switch role {
	case "Storage Blob Data Contributor":
		return false
	case "Storage Blob Data Reader":
		return r.Method != http.MethodGet && r.Method != http.MethodHead &&
			!(r.Method == http.MethodPost && r.URL.Query().Get("comp") == "userdelegationkey")
	}
	return true
}

// startPrincipalWorld starts Azurite with --oauth basic, the Entra fake and
// the RBAC gate in front of Azurite, and returns a client that trusts the
// certificates of all three (the operator's client of a test deployment).
func startPrincipalWorld(t *testing.T) (*testenv.Azurite, *entrafake.Server, *rbacGate, *http.Client) {
	t.Helper()
	az := testenv.StartAzuriteWith(t, testenv.AzuriteOptions{OAuth: true, ProductStyleURL: true})
	entra := entrafake.Start(t)
	gate := startRBACGate(t, az, entra)
	pool := az.CertPool.Clone()
	pool.AddCert(entra.Certificate())
	pool.AddCert(gate.srv.Certificate())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return az, entra, gate, &http.Client{Transport: tr}
}

// viaAzureHost returns hc reaching https://ACCOUNT.blob.core.windows.net
// at the gate, as a client on Azure reaches the account: Azurite reads
// the account from such a production-style host (the gate keeps the Host
// header), and the SDK names a user delegation credential's account by
// the host's first label (azblob service.Client.GetUserDelegationCredential),
// which an emulator addressed by IP (https://127.0.0.1:port/ACCOUNT/)
// gets wrong. The gate's test certificate is for example.com.
func viaAzureHost(hc *http.Client, gate *rbacGate) *http.Client {
	base := hc.Transport.(*http.Transport)
	tr := base.Clone()
	gateAddr := strings.TrimPrefix(gate.srv.URL, "https://")
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg := base.TLSClientConfig.Clone()
		cfg.ServerName = host
		if strings.HasSuffix(host, ".blob.core.windows.net") {
			addr, cfg.ServerName = gateAddr, "example.com"
		}
		return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}

// TestAzureServicePrincipalE2E creates azure_blob configs with
// azure_auth_method "service_principal" through the HTTP API, against
// Azurite with --oauth basic over https (bearer tokens) and the Entra ID
// fake (no emulator of Entra exists), whose authority bucketlink is
// pointed at only by operator configuration (the opener's AuthorityHost,
// BUCKETLINK_AZURE_AUTHORITY_HOST); the config names no endpoint, so its
// traffic goes to https://ACCOUNT.blob.core.windows.net/ as far as the
// config knows, and to Azurite through the emulator override. Azure's role
// assignments are held by rbacGate in front of Azurite.
//
// A principal with Storage Blob Data Contributor verifies (create, GET,
// test/, and bucket verify, whose signedUrl is a user delegation SAS of
// the principal); a wrong tenant, client or secret answers 400 on that
// field; a principal without a role answers on azure_client_id naming
// Contributor (Reader for a read-only config); the field rules answer 400
// without connecting.
func TestAzureServicePrincipalE2E(t *testing.T) {
	az, entra, gate, hc := startPrincipalWorld(t)
	var opener *anyblob.Opener
	e := newVerifyEnv(t, verifyOpts{wrapVerifier: func(bv verifyworker.BucketVerifier) verifyworker.BucketVerifier {
		o := bv.(countingVerifier).inner.(*verify.Verifier).Opener.(*anyblob.Opener)
		opener = o
		// The operator settings of a test deployment (the gate and the
		// fake are on loopback, with certificates of their own).
		o.HTTPClient = viaAzureHost(hc, gate)
		o.AzureAuthorityHost = entra.AuthorityHost()
		return bv
	}})
	contributor, reader, roleless := entra.AddApp(""), entra.AddApp(""), entra.AddApp("")
	gate.assign(contributor.ObjectID, "Storage Blob Data Contributor")
	gate.assign(reader.ObjectID, "Storage Blob Data Reader")
	for _, a := range []*entrafake.App{contributor, reader, roleless} {
		rememberSecret(a.Secret)
	}
	container := testenv.ContainerName(t, "sp")
	az.CreateContainer(t, container)
	az.PutBlob(t, container, "data/img-1.jpg", []byte("jpeg"))
	admin := e.keys["acme/admin"]
	body := func(app *entrafake.App, edit map[string]any) map[string]any {
		b := map[string]any{
			"name": "Azure keyless " + container, "provider": "azure_blob", "azure_account_name": az.AccountName,
			"azure_container_name": container, "azure_prefix": "data/",
			"azure_auth_method": "service_principal", "azure_tenant_id": app.TenantID,
			"azure_client_id": app.ClientID, "azure_client_secret": app.Secret,
		}
		for k, v := range edit {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}

	r := e.do("POST", base, admin, body(contributor, nil))
	wantStatus(t, r, http.StatusCreated)
	cfg := r.json(t)
	uid := cfg["uid"].(string)
	want := map[string]any{
		"is_verified": true, "azure_auth_method": "service_principal", "azure_tenant_id": contributor.TenantID,
		"azure_client_id": contributor.ClientID, "azure_endpoint_url": "https://" + az.AccountName + ".blob.core.windows.net/",
	}
	get := e.do("GET", base+uid+"/", admin, nil)
	wantStatus(t, get, http.StatusOK)
	for name, c := range map[string]map[string]any{"create": cfg, "get": get.json(t)} {
		for k, v := range want {
			if c[k] != v {
				t.Errorf("%s: %s = %v, want %v", name, k, c[k], v)
			}
		}
		if _, ok := c["azure_client_secret"]; ok {
			t.Errorf("%s answers azure_client_secret", name)
		}
	}
	if strings.Contains(string(r.Body)+string(get.Body), contributor.Secret) {
		t.Fatal("an answer carries the client secret")
	}
	test := e.do("POST", base+uid+"/test/", admin, nil)
	wantStatus(t, test, http.StatusOK)
	if test.json(t)["verified"] != true {
		t.Errorf("test/ = %s", test.Body)
	}
	if entra.Count("token") == 0 {
		t.Error("no token was asked of the Entra fake")
	}

	// Bucket verify of the stored config: connected, and the signedUrl is
	// a user delegation SAS of the principal for one blob under the
	// prefix, on Azurite (through the override), carrying no secret.
	a := e.pollUntilFinal(t, "acme", e.keys["acme/member"], map[string]any{"bucketId": cfg["id"]}, 20*time.Second)
	wantConnected(t, a, true)
	u, err := url.Parse(a.SignedURL)
	if err != nil {
		t.Fatalf("signedUrl %q: %v", a.SignedURL, err)
	}
	q := u.Query()
	for k, v := range map[string]string{"skoid": contributor.ObjectID, "sktid": contributor.TenantID, "sr": "b", "sp": "cw", "spr": "https"} {
		if q.Get(k) != v {
			t.Errorf("signedUrl %s = %q, want %q (a user delegation SAS)", k, q.Get(k), v)
		}
	}
	if u.Host != az.AccountName+".blob.core.windows.net" ||
		!strings.HasPrefix(u.Path, "/"+container+"/data/"+verify.CORSTestMarker) {
		t.Errorf("signedUrl %s is not for a blob under the prefix of the account", a.SignedURL)
	}
	if strings.Contains(a.body, contributor.Secret) {
		t.Error("the bucket-verify answer carries the client secret")
	}
	// The user delegation SAS really uploads, as the browser's CORS test
	// does: Azurite checks its signature with the user delegation key it
	// issued to the principal.
	put, err := http.NewRequest(http.MethodPut, a.SignedURL, strings.NewReader("bucketlink cors test"))
	if err != nil {
		t.Fatal(err)
	}
	put.Header.Set("x-ms-blob-type", "BlockBlob")
	put.Header.Set("Content-Type", "text/plain")
	if resp, err := viaAzureHost(hc, gate).Do(put); err != nil {
		t.Errorf("PUT to the signedUrl: %v", err)
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("PUT to the signedUrl: %s %s", resp.Status, body)
		}
	}
	// The existing-bucket verify of a narrower prefix rebuilds the
	// target from the stored settings (the principal's IDs) and sealed
	// secret.
	narrower := "/v1/api/organizations/acme/buckets/" + uid + "/verify"
	var n verifyAnswer
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if n = e.post2(narrower, e.keys["acme/member"], map[string]any{"prefix": "data/sub/"}); n.ConnectionStatus != "connecting" || time.Now().After(end) {
			break
		}
	}
	if !n.Success || n.ConnectionStatus != "connected" || !strings.Contains(n.SignedURL, "skoid="+contributor.ObjectID) ||
		!strings.Contains(n.SignedURL, "/data%2Fsub%2F") {
		t.Errorf("existing-bucket verify of data/sub/ = %s", n.body)
	}

	// Entra's refusals, each on its own field.
	wantFields(t, e.do("POST", base, admin, body(contributor, map[string]any{"azure_tenant_id": "11111111-2222-4333-8444-555555555555"})),
		map[string]string{"azure_tenant_id": "no such tenant"})
	wantFields(t, e.do("POST", base, admin, body(contributor, map[string]any{"azure_client_id": "00000000-0000-4000-8000-000000000002"})),
		map[string]string{"azure_client_id": "no application with this ID"})
	wantFields(t, e.do("POST", base, admin, body(contributor, map[string]any{"azure_client_secret": "not-the-secret"})),
		map[string]string{"azure_client_secret": "refused the client secret"})

	// Role assignments: none, or Reader where Contributor is needed.
	wantFields(t, e.do("POST", base, admin, body(roleless, nil)),
		map[string]string{"azure_client_id": "Storage Blob Data Contributor"})
	wantFields(t, e.do("POST", base, admin, body(roleless, map[string]any{"access_mode": "read_only"})),
		map[string]string{"azure_client_id": "Storage Blob Data Reader"})
	wantFields(t, e.do("POST", base, admin, body(reader, nil)),
		map[string]string{"azure_client_id": "Storage Blob Data Contributor"})
	ro := e.do("POST", base, admin, body(reader, map[string]any{"access_mode": "read_only"}))
	wantStatus(t, ro, http.StatusCreated)
	if ro.json(t)["is_verified"] != true {
		t.Errorf("a reader's read-only config = %s", ro.Body)
	}

	// The field rules, before connecting.
	tokens := entra.Count("token")
	for _, tt := range []struct {
		name string
		edit map[string]any
		want map[string]string
	}{
		{"tenant not a GUID or domain", map[string]any{"azure_tenant_id": "../x"}, map[string]string{"azure_tenant_id": "GUID"}},
		{"client not a GUID", map[string]any{"azure_client_id": "my-app"}, map[string]string{"azure_client_id": "GUID"}},
		{"no secret", map[string]any{"azure_client_secret": nil}, map[string]string{"azure_client_secret": "required"}},
		{"no tenant", map[string]any{"azure_tenant_id": nil}, map[string]string{"azure_tenant_id": "required"}},
		{"account key too", map[string]any{"azure_account_key": az.AccountKey}, map[string]string{"azure_account_key": "Not used with azure_auth_method \"service_principal\""}},
		{"sas token too", map[string]any{"azure_sas_token": "sv=2024-08-04&sig=x"}, map[string]string{"azure_sas_token": "Not used with azure_auth_method \"service_principal\""}},
		{"unknown method", map[string]any{"azure_auth_method": "managed_identity"}, map[string]string{"azure_auth_method": "service_principal"}},
		{"endpoint outside Azure", map[string]any{"azure_endpoint_url": "https://blob.example.com/acct"}, map[string]string{"azure_endpoint_url": "Entra ID authority"}},
		{"principal fields with account_key", map[string]any{"azure_auth_method": "account_key", "azure_account_key": az.AccountKey},
			map[string]string{"azure_tenant_id": "Only used with", "azure_client_id": "Only used with", "azure_client_secret": "Only used with"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, e.do("POST", base, admin, body(contributor, tt.edit)), tt.want)
		})
	}
	if n := entra.Count("token"); n != tokens {
		t.Errorf("invalid configs asked Entra for %d tokens", n-tokens)
	}

	// Rotation (PATCH): a wrong new secret alone answers on
	// azure_client_secret and the stored one keeps working; another
	// application's client id and secret (the tenant kept) replace the
	// principal, which then verifies with the old one's role removed.
	path := base + uid + "/"
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"azure_client_secret": "not-the-secret"}),
		map[string]string{"azure_client_secret": "refused the client secret"})
	if test := e.do("POST", path+"test/", admin, nil); test.json(t)["verified"] != true {
		t.Fatalf("the stored principal stopped working after a failed rotation: %s", test.Body)
	}
	next := entra.AddApp(contributor.TenantID)
	gate.assign(next.ObjectID, "Storage Blob Data Contributor")
	rememberSecret(next.Secret)
	r = e.do("PATCH", path, admin, map[string]any{"azure_client_id": next.ClientID, "azure_client_secret": next.Secret})
	wantStatus(t, r, http.StatusOK)
	if got := r.json(t); got["azure_client_id"] != next.ClientID || got["azure_tenant_id"] != contributor.TenantID || got["is_verified"] != true {
		t.Errorf("rotated to another application: %s", r.Body)
	}
	gate.assign(contributor.ObjectID, "")
	if test := e.do("POST", path+"test/", admin, nil); test.json(t)["verified"] != true {
		t.Errorf("test/ with the new principal: %s", test.Body)
	}

	// workload_identity: no secret at all. bucketlink's identity is its
	// AWS role's, as on Lambda: sts:GetWebIdentityToken (IAM outbound
	// identity federation; webidentityfake, as moto lacks the action)
	// with the AWS credentials of the environment, for Entra's audience;
	// the customer's application trusts that issuer and subject.
	const role = "arn:aws:iam::123456789012:role/bucketlink-verify"
	issuer := entrafake.NewIssuer(t, "https://4a2b6c1d-0000-4000-8000-000000000001.tokens.sts.global.api.aws")
	stsFake := webidentityfake.Start(t, issuer, role)
	opener.AzureAssertion = azureopen.STSAssertion(sts.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "test-secret-wi", ""),
	}, func(o *sts.Options) { o.BaseEndpoint = aws.String(stsFake.URL) }))
	trusting := entra.AddFederatedApp("", issuer.Federation(role, "api://AzureADTokenExchange"))
	gate.assign(trusting.ObjectID, "Storage Blob Data Contributor")
	other := entra.AddFederatedApp("", issuer.Federation("arn:aws:iam::123456789012:role/someone-else", "api://AzureADTokenExchange"))
	gate.assign(other.ObjectID, "Storage Blob Data Contributor")
	wi := func(app *entrafake.App, edit map[string]any) map[string]any {
		b := body(app, map[string]any{"azure_auth_method": "workload_identity", "azure_client_secret": nil})
		for k, v := range edit {
			b[k] = v
		}
		return b
	}
	r = e.do("POST", base, admin, wi(trusting, nil))
	wantStatus(t, r, http.StatusCreated)
	if c := r.json(t); c["is_verified"] != true || c["azure_auth_method"] != "workload_identity" || c["azure_client_id"] != trusting.ClientID {
		t.Errorf("workload_identity create = %s", r.Body)
	}
	if stsFake.Calls() == 0 {
		t.Error("no token was asked of STS")
	}
	a = e.pollUntilFinal(t, "acme", e.keys["acme/member"], map[string]any{"bucketId": r.json(t)["id"]}, 20*time.Second)
	wantConnected(t, a, true)
	if !strings.Contains(a.SignedURL, "skoid="+trusting.ObjectID) {
		t.Errorf("workload_identity signedUrl %s is not the principal's user delegation SAS", a.SignedURL)
	}
	wantFields(t, e.do("POST", base, admin, wi(other, nil)), map[string]string{"azure_client_id": "does not trust bucketlink's identity"})
	wantFields(t, e.do("POST", base, admin, wi(trusting, map[string]any{"azure_client_secret": "s"})),
		map[string]string{"azure_client_secret": "Not used with azure_auth_method \"workload_identity\""})
	stsFake.Disabled.Store(true)
	wantFields(t, e.do("POST", base, admin, wi(trusting, nil)), map[string]string{"non_field_errors": "could not get a token"})
	stsFake.Disabled.Store(false)
	opener.AzureAssertion = nil
	wantFields(t, e.do("POST", base, admin, wi(trusting, nil)), map[string]string{"non_field_errors": "could not get a token"})
}
