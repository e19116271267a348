package azureblob_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/infra/testenv/entrafake"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// principalEnv is Azurite with --oauth basic over https (a certificate the
// test made) and the loopback Entra fake (no emulator of Entra exists),
// with one registered application, and a client trusting both.
type principalEnv struct {
	az  *testenv.Azurite
	e   *entrafake.Server
	app *entrafake.App
	hc  *http.Client
}

func newPrincipalEnv(t *testing.T) *principalEnv {
	t.Helper()
	az := testenv.StartAzuriteWith(t, testenv.AzuriteOptions{OAuth: true})
	e := entrafake.Start(t)
	pool := az.CertPool.Clone()
	pool.AddCert(e.Certificate())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &principalEnv{az: az, e: e, app: e.AddApp(""), hc: &http.Client{Transport: tr}}
}

func (p *principalEnv) open(t *testing.T, container string, edit func(o *azureblob.Options)) blob.Bucket {
	t.Helper()
	o := azureblob.Options{
		AccountName:   p.az.AccountName,
		Container:     container,
		TenantID:      p.app.TenantID,
		ClientID:      p.app.ClientID,
		ClientSecret:  p.app.Secret,
		Endpoint:      p.az.Endpoint(),
		AuthorityHost: p.e.AuthorityHost(),
		HTTPClient:    p.hc,
	}
	if edit != nil {
		edit(&o)
	}
	b, err := azureblob.New(o)
	if err != nil {
		t.Fatalf("azureblob.New: %v", err)
	}
	return b
}

// TestPrincipalConformance runs the blob suite with a service principal:
// Entra's client-credentials token (from the fake) on every request to
// Azurite, which checks its issuer, audience and lifetime; the presigned
// PUT is a user delegation SAS. A wrong secret and an unknown application
// fail every call with the codes of a wrong secret and an unknown key.
func TestPrincipalConformance(t *testing.T) {
	p := newPrincipalEnv(t)
	blobtest.Run(t, blobtest.Harness{
		Bucket: func(t *testing.T) blob.Bucket {
			c := testenv.ContainerName(t, "sp")
			p.az.CreateContainer(t, c)
			return p.open(t, c, nil)
		},
		MissingBucket: func(t *testing.T) blob.Bucket {
			return p.open(t, testenv.ContainerName(t, "missing"), nil)
		},
		WrongSecret: func(t *testing.T) blob.Bucket {
			c := testenv.ContainerName(t, "wrongsecret")
			p.az.CreateContainer(t, c)
			return p.open(t, c, func(o *azureblob.Options) { o.ClientSecret = "wrong~" + o.ClientSecret })
		},
		UnknownKey: func(t *testing.T) blob.Bucket {
			c := testenv.ContainerName(t, "unknownapp")
			p.az.CreateContainer(t, c)
			return p.open(t, c, func(o *azureblob.Options) { o.ClientID = "00000000-0000-4000-8000-000000000001" })
		},
		DeleteMissingIsNotFound: true,
		HTTPClient:              blobtest.HeaderClient(p.hc, azureblob.PresignPutHeaders()),
		PresignNotHonoured:      azuriteUDKLag,
	})
	if n := p.e.Count("token"); n == 0 {
		t.Error("no token was asked of Entra")
	}
}

// azuriteUDKLag is why this conformance run cannot upload through a
// service principal's presigned URL: it reaches Azurite by IP
// (https://127.0.0.1:port/ACCOUNT/), and the SDK names a user delegation
// credential's account by the host's first label
// (service.Client.GetUserDelegationCredential), so it signs for the
// account "127" and Azurite rightly refuses. On Azure the host is
// ACCOUNT.blob.core.windows.net. The upload is proven through the HTTP
// API instead, reaching Azurite by that production-style host
// (TestAzureServicePrincipalE2E in shared/httpapi);
// TestPrincipalUserDelegationSAS checks the URL here.
const azuriteUDKLag = "the SDK signs a user delegation SAS for the host's first label, and this run reaches Azurite by IP"

// TestPrincipalUserDelegationSAS checks the presigned URL's token: a user
// delegation SAS made from the key Azurite gave the principal's bearer
// token (skoid/sktid of the principal, sr=b, sp=cw, key times around the
// URL's), with no bearer token or secret in it.
func TestPrincipalUserDelegationSAS(t *testing.T) {
	p := newPrincipalEnv(t)
	c := testenv.ContainerName(t, "udk")
	p.az.CreateContainer(t, c)
	u, err := p.open(t, c, nil).PresignPut(callCtx(t), "up/x.bin", 10*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	for k, want := range map[string]string{"skoid": p.app.ObjectID, "sktid": p.app.TenantID, "sks": "b", "sr": "b", "sp": "cw", "spr": "https"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"skt", "ske", "skv", "sv", "st", "se", "sig"} {
		if q.Get(k) == "" {
			t.Errorf("the SAS has no %s", k)
		}
	}
	if se, err := time.Parse(time.RFC3339, q.Get("se")); err != nil || time.Until(se) > 11*time.Minute || time.Until(se) < 9*time.Minute {
		t.Errorf("se = %q, want about 10 minutes from now", q.Get("se"))
	}
	if q.Get("ske") != q.Get("se") {
		t.Errorf("the delegation key expires at %s, the URL at %s; want the same", q.Get("ske"), q.Get("se"))
	}
	if strings.Contains(u, p.app.Secret) {
		t.Error("the presigned URL carries the client secret")
	}
}

// TestPrincipalRejected checks that each refusal of Entra names its part:
// an unknown tenant (AADSTS90002), an unknown application (AADSTS700016)
// and a wrong secret (AADSTS7000215), on every call, without the secret in
// the error.
func TestPrincipalRejected(t *testing.T) {
	p := newPrincipalEnv(t)
	c := testenv.ContainerName(t, "rejected")
	p.az.CreateContainer(t, c)
	tests := []struct {
		name string
		edit func(o *azureblob.Options)
		part azureblob.CredentialPart
		code string
		want blob.Code
	}{
		{"tenant", func(o *azureblob.Options) { o.TenantID = "11111111-2222-4333-8444-555555555555" }, azureblob.PartTenant, "AADSTS90002", blob.InvalidAccessKey},
		{"client", func(o *azureblob.Options) { o.ClientID = "00000000-0000-4000-8000-000000000002" }, azureblob.PartClient, "AADSTS700016", blob.InvalidAccessKey},
		{"secret", func(o *azureblob.Options) { o.ClientSecret = "not-the-secret" }, azureblob.PartSecret, "AADSTS7000215", blob.SignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := p.open(t, c, tt.edit)
			_, listErr := b.List(callCtx(t), "", 1)
			_, presignErr := b.PresignPut(callCtx(t), "k", time.Minute)
			for op, err := range map[string]error{"list": listErr, "put": b.Put(callCtx(t), "k", []byte("x")), "presign": presignErr} {
				var ee *azureblob.EntraError
				if !errors.As(err, &ee) || ee.Part != tt.part || ee.Code != tt.code || ee.EntraRejected() != string(tt.part) {
					t.Fatalf("%s = %v; want an *EntraError on %s (%s)", op, err, tt.part, tt.code)
				}
				wantCode(t, op, err, tt.want)
				if strings.Contains(err.Error(), p.app.Secret) || strings.Contains(err.Error(), "not-the-secret") {
					t.Errorf("%s: the error shows the secret", op)
				}
			}
		})
	}
}

// TestPrincipalTokenThroughNetguard checks that the token requests go
// through the caller's netguard client: with the production policy, the
// Entra fake named as localhost (refused by the guarded dialer after
// resolution) is never reached, and the failure is an *EntraError that is
// not a refusal of the credentials. (MSAL formats the transport error into
// its message, so the *netguard.BlockedError is named there, not kept in
// the chain.)
func TestPrincipalTokenThroughNetguard(t *testing.T) {
	e := entrafake.Start(t)
	app := e.AddApp("")
	b, err := azureblob.New(azureblob.Options{
		AccountName: "acct", Container: "data",
		TenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: app.Secret,
		AuthorityHost: strings.Replace(e.AuthorityHost(), "127.0.0.1", "localhost", 1),
		HTTPClient:    netguard.Policy{}.HTTPClient(),
		MaxRetries:    -1,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, err = b.List(callCtx(t), "", 1)
	var ee *azureblob.EntraError
	if !errors.As(err, &ee) || ee.Part != "" || !strings.Contains(err.Error(), "netguard: connection to 127.0.0.1 refused") {
		t.Fatalf("List = %v; want an *EntraError with no part, refused by netguard", err)
	}
	if n := e.Count("metadata") + e.Count("token"); n != 0 {
		t.Errorf("the fake got %d requests through the production policy", n)
	}
}

func TestPrincipalOptions(t *testing.T) {
	base := azureblob.Options{AccountName: "acct", Container: "data", TenantID: "contoso.onmicrosoft.com",
		ClientID: "00000000-0000-4000-8000-000000000003", ClientSecret: "s", HTTPClient: httpClient()}
	tests := []struct {
		name   string
		modify func(o *azureblob.Options)
		want   error
	}{
		{"ok", func(o *azureblob.Options) {}, nil},
		{"china cloud", func(o *azureblob.Options) { o.Endpoint = "https://acct.blob.core.chinacloudapi.cn/" }, nil},
		{"and a key", func(o *azureblob.Options) { o.AccountKey = "a2V5" }, azureblob.ErrBothCredentials},
		{"bad tenant", func(o *azureblob.Options) { o.TenantID = "../x" }, azureblob.ErrBadTenantID},
		{"bad client", func(o *azureblob.Options) { o.ClientID = "app" }, azureblob.ErrBadClientID},
		{"no secret", func(o *azureblob.Options) { o.ClientSecret = "" }, azureblob.ErrNoSecret},
		{"endpoint outside Azure", func(o *azureblob.Options) { o.Endpoint = "https://blob.example.com/acct" }, azureblob.ErrNoAuthority},
		{"http endpoint", func(o *azureblob.Options) { o.Endpoint = "http://acct.blob.core.windows.net/" }, azureblob.ErrNoAuthority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.modify(&o)
			if _, err := azureblob.New(o); !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPrincipalFederated opens a container with a client assertion in
// place of a secret (a federated identity credential): an assertion of
// the trusted issuer, subject and audience gets a token Azurite accepts;
// one of another subject, or expired, is refused as the federation's
// (AADSTS700213, AADSTS700024), never retried as a secret.
func TestPrincipalFederated(t *testing.T) {
	p := newPrincipalEnv(t)
	iss := entrafake.NewIssuer(t, "https://oidc.sts.example.amazonaws.com/123456789012")
	const role, aud = "arn:aws:iam::123456789012:role/bucketlink", "api://AzureADTokenExchange"
	app := p.e.AddFederatedApp("", iss.Federation(role, aud))
	c := testenv.ContainerName(t, "fed")
	p.az.CreateContainer(t, c)
	open := func(token string) blob.Bucket {
		return p.open(t, c, func(o *azureblob.Options) {
			o.TenantID, o.ClientID, o.ClientSecret = app.TenantID, app.ClientID, ""
			o.ClientAssertion = func(context.Context) (string, error) { return token, nil }
		})
	}
	b := open(iss.Token(role, aud, 5*time.Minute))
	if err := b.Put(callCtx(t), "k", []byte("x")); err != nil {
		t.Fatalf("Put with a federated credential: %v", err)
	}
	if _, err := b.List(callCtx(t), "", 1); err != nil {
		t.Fatalf("List: %v", err)
	}
	for name, tt := range map[string]struct {
		token, code string
	}{
		"another subject": {iss.Token("arn:aws:iam::123456789012:role/other", aud, 5*time.Minute), "AADSTS700213"},
		"expired":         {iss.Token(role, aud, -time.Minute), "AADSTS700024"},
	} {
		_, err := open(tt.token).List(callCtx(t), "", 1)
		var ee *azureblob.EntraError
		if !errors.As(err, &ee) || ee.Part != azureblob.PartFederation || ee.Code != tt.code {
			t.Errorf("%s: List = %v; want an *EntraError on the federation (%s)", name, err, tt.code)
		}
	}
	if _, err := azureblob.New(azureblob.Options{AccountName: "acct", Container: "data", TenantID: app.TenantID, ClientID: app.ClientID,
		ClientSecret: "s", ClientAssertion: func(context.Context) (string, error) { return "", nil }, HTTPClient: p.hc}); !errors.Is(err, azureblob.ErrBothCredentials) {
		t.Errorf("a secret and an assertion: New = %v, want ErrBothCredentials", err)
	}
}
