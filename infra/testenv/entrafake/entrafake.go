// Package entrafake is a loopback stand-in for the Microsoft Entra ID
// (Azure AD) authority that the client-credentials flow of a service
// principal talks to: the OpenID Connect metadata of a tenant, which MSAL
// (under azidentity) reads first, and the tenant's v2.0 token endpoint.
//
// It is a hand-written fake because no emulator of Entra ID exists
// (Azurite's --oauth basic checks tokens but issues none). It is held to the
// shapes Microsoft documents:
//
//   - metadata, https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri:
//     GET /{tenant}/v2.0/.well-known/openid-configuration answers
//     {"issuer", "authorization_endpoint", "token_endpoint", ...};
//   - client credentials with a shared secret,
//     https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow:
//     POST /{tenant}/oauth2/v2.0/token, form-encoded client_id,
//     scope ({resource}/.default; MSAL adds openid, offline_access and
//     profile), client_secret, grant_type
//     client_credentials; answer {"token_type": "Bearer", "expires_in",
//     "ext_expires_in", "access_token"}; errors {"error",
//     "error_description", "error_codes", "timestamp", "trace_id",
//     "correlation_id"}, with the AADSTS codes of
//     https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes:
//     AADSTS90002 (400 invalid_tenant: no such tenant), AADSTS700016 (400
//     unauthorized_client: no such application in the directory),
//     AADSTS7000215 (401 invalid_client: invalid client secret);
//   - client credentials with a federated credential,
//     https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential:
//     the same request with client_assertion_type
//     urn:ietf:params:oauth:client-assertion-type:jwt-bearer and
//     client_assertion (a JWT of an external issuer) in place of
//     client_secret, checked against the app's federated identity
//     credential (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation):
//     AADSTS700211 (no matching federated identity record for the
//     assertion's issuer), AADSTS700213 (subject), AADSTS700212
//     (audience), AADSTS700024 (not within its valid time range),
//     AADSTS700027 (signature). Entra reads the issuer's signing keys from
//     its OpenID Connect discovery document; the fake is given the key
//     (Federation.Key) instead.
//
// Its access tokens are JWTs with the claims of Entra's v1 access tokens for
// Azure Storage (aud https://storage.azure.com, iss
// https://sts.windows.net/{tenant}/, tid, oid, appid, iat, nbf, exp), which
// is what Azurite's --oauth basic checks. The fake checks what it is sent
// and records what it found wrong; the test fails at cleanup if anything was.
package entrafake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TokenLifetime is how long the fake's tokens are valid.
const TokenLifetime = time.Hour

// Server is a running fake on https://127.0.0.1 (Entra authorities are
// https only; MSAL refuses others), with a certificate of its own.
type Server struct {
	// URL is https://127.0.0.1:port, the authority host (in place of
	// https://login.microsoftonline.com).
	URL string

	tb  testing.TB
	srv *httptest.Server
	key *rsa.PrivateKey

	mu      sync.Mutex
	tenants map[string]map[string]*App // tenant id -> client id -> app
	counts  map[string]int             // "metadata", "token"
	issued  map[string]*App            // access token -> app
	bad     []string
}

// App is a registered application (its service principal) in a tenant.
type App struct {
	TenantID string
	ClientID string
	Secret   string
	// ObjectID is the service principal's object id (oid).
	ObjectID string
	// Federation, when set, is the app's federated identity credential
	// (and Secret is empty): it accepts client assertions of that issuer.
	Federation *Federation
}

// Federation is a federated identity credential: the issuer, subject and
// audience a client assertion must carry, and the issuer's key.
type Federation struct {
	Issuer, Subject, Audience string
	Key                       *rsa.PublicKey
}

// ClientAssertionType is the client_assertion_type of a federated
// credential.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AddFederatedApp registers an application without a secret that trusts
// f, in tenant (a new random tenant when tenant is "").
func (s *Server) AddFederatedApp(tenant string, f Federation) *App {
	a := s.AddApp(tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Secret, a.Federation = "", &f
	return a
}

// Start starts a fake for this test and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("entrafake: key: %v", err)
	}
	s := &Server{tb: tb, key: k, tenants: map[string]map[string]*App{}, counts: map[string]int{}, issued: map[string]*App{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected in some tests
	s.srv.StartTLS()
	s.URL = s.srv.URL
	tb.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.bad {
			tb.Errorf("entrafake: %s", p)
		}
	})
	return s
}

// AuthorityHost is the value of azcore's cloud.Configuration
// ActiveDirectoryAuthorityHost for the fake.
func (s *Server) AuthorityHost() string { return s.URL + "/" }

// Certificate is the fake's server certificate.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// CertPool returns a pool trusting the fake's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// AddApp registers an application with a random client id, object id and
// secret in tenant (a new random tenant when tenant is "").
func (s *Server) AddApp(tenant string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant == "" {
		tenant = uuid.NewString()
	}
	if s.tenants[tenant] == nil {
		s.tenants[tenant] = map[string]*App{}
	}
	a := &App{TenantID: tenant, ClientID: uuid.NewString(), ObjectID: uuid.NewString(), Secret: "fake~" + rand.Text()}
	s.tenants[tenant][a.ClientID] = a
	return a
}

// Count returns how many "metadata" or "token" requests the fake answered.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// AppOf returns the app an access token was issued to, and false for a
// token the fake did not issue.
func (s *Server) AppOf(token string) (*App, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.issued[token]
	return a, ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 {
		s.bad = append(s.bad, "request to "+r.URL.Path)
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], parts[1]
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		s.counts["metadata"]++
		s.metadata(w, r, tenant)
	case "oauth2/v2.0/token":
		s.counts["token"]++
		s.token(w, r, tenant)
	default:
		s.bad = append(s.bad, "request to "+r.URL.Path)
		http.NotFound(w, r)
	}
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		s.bad = append(s.bad, "metadata: "+r.Method)
	}
	if s.tenants[tenant] == nil {
		s.noTenant(w, tenant)
		return
	}
	base := s.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		// The issuer Entra publishes: MSAL accepts it for a trusted host.
		"issuer":                                "https://login.microsoftonline.com/" + tenant + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.bad = append(s.bad, fmt.Sprintf("token: %s with Content-Type %q, want a form POST", r.Method, r.Header.Get("Content-Type")))
	}
	if err := r.ParseForm(); err != nil {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		s.bad = append(s.bad, "token: grant_type "+f.Get("grant_type"))
	}
	// MSAL adds the OIDC scopes openid, offline_access and profile, which
	// Entra accepts beside one {resource}/.default.
	resource := ""
	for _, sc := range strings.Fields(f.Get("scope")) {
		if r, ok := strings.CutSuffix(sc, "/.default"); ok {
			resource = r
		}
	}
	if resource == "" {
		s.bad = append(s.bad, "token: scope "+f.Get("scope")+" has no /.default scope")
	}
	if r.URL.Query().Has("client_secret") {
		s.bad = append(s.bad, "token: the secret was sent in the URL")
	}
	apps := s.tenants[tenant]
	if apps == nil {
		s.noTenant(w, tenant)
		return
	}
	app := apps[f.Get("client_id")]
	if app == nil {
		s.entraError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", f.Get("client_id"), tenant))
		return
	}
	if f.Has("client_assertion") || f.Has("client_assertion_type") {
		if code, msg := s.checkAssertion(app, f); code != 0 {
			s.entraError(w, http.StatusBadRequest, "invalid_client", code, msg)
			return
		}
	} else if app.Secret == "" || f.Get("client_secret") != app.Secret {
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
		return
	}
	tok := s.jwt(app, resource)
	s.issued[tok] = app
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(TokenLifetime / time.Second),
		"ext_expires_in": int(TokenLifetime / time.Second),
		"access_token":   tok,
	})
}

// checkAssertion checks a federated credential's client assertion, and
// returns the AADSTS code and message of a refusal (0 when accepted).
func (s *Server) checkAssertion(app *App, f url.Values) (int, string) {
	if f.Has("client_secret") {
		s.bad = append(s.bad, "token: both a client secret and a client assertion")
	}
	if t := f.Get("client_assertion_type"); t != ClientAssertionType {
		return 50027, "AADSTS50027: JWT token is invalid or malformed (client_assertion_type " + t + ")."
	}
	fed := app.Federation
	if fed == nil {
		return 70021, "AADSTS70021: No matching federated identity record found for presented assertion."
	}
	parts := strings.Split(f.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return 50027, "AADSTS50027: JWT token is invalid or malformed."
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Nbf int64           `json:"nbf"`
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &claims) != nil {
		return 50027, "AADSTS50027: JWT token is invalid or malformed."
	}
	var auds []string
	if json.Unmarshal(claims.Aud, &auds) != nil {
		var one string
		_ = json.Unmarshal(claims.Aud, &one)
		auds = []string{one}
	}
	switch {
	case claims.Iss != fed.Issuer:
		return 700211, "AADSTS700211: No matching federated identity record found for presented assertion issuer '" + claims.Iss + "'."
	case claims.Sub != fed.Subject:
		return 700213, "AADSTS700213: No matching federated identity record found for presented assertion subject '" + claims.Sub + "'."
	case !slices.Contains(auds, fed.Audience):
		return 700212, "AADSTS700212: No matching federated identity record found for presented assertion audience."
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || rsa.VerifyPKCS1v15(fed.Key, crypto.SHA256, sum[:], sig) != nil {
		return 700027, "AADSTS700027: Client assertion failed signature validation."
	}
	if now := time.Now().Unix(); claims.Exp < now || claims.Nbf > now+300 {
		return 700024, "AADSTS700024: Client assertion is not within its valid time range."
	}
	return 0, ""
}

// jwt makes an RS256 access token for app and resource.
func (s *Server) jwt(app *App, resource string) string {
	now := time.Now()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "entrafake"})
	body := enc(map[string]any{
		"aud":   resource,
		"iss":   "https://sts.windows.net/" + app.TenantID + "/",
		"iat":   now.Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   now.Add(TokenLifetime).Unix(),
		"appid": app.ClientID,
		"oid":   app.ObjectID,
		"sub":   app.ObjectID,
		"tid":   app.TenantID,
		"ver":   "1.0",
		"jti":   rand.Text(),
	})
	sum := sha256.Sum256([]byte(head + "." + body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		s.bad = append(s.bad, "sign: "+err.Error())
	}
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (s *Server) noTenant(w http.ResponseWriter, tenant string) {
	s.entraError(w, http.StatusBadRequest, "invalid_tenant", 90002,
		fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
}

func (s *Server) entraError(w http.ResponseWriter, status int, kind string, code int, desc string) {
	trace := uuid.NewString()
	writeJSON(w, status, map[string]any{
		"error":             kind,
		"error_description": desc + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + uuid.NewString() + "\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"error_codes":       []int{code},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    uuid.NewString(),
		"error_uri":         "https://login.microsoftonline.com/error?code=" + fmt.Sprint(code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Issuer is an external OpenID Connect issuer for tests, such as the
// issuer of AWS IAM outbound identity federation (sts:GetWebIdentityToken)
// for an account: it signs the JWTs that an application's federated
// identity credential trusts.
type Issuer struct {
	// URL is the issuer (the iss claim).
	URL string
	key *rsa.PrivateKey
}

// NewIssuer returns an issuer named url with a key of its own.
func NewIssuer(tb testing.TB, url string) *Issuer {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("entrafake: issuer key: %v", err)
	}
	return &Issuer{URL: url, key: k}
}

// Federation is the federated identity credential that trusts the
// issuer's tokens for subject and audience.
func (i *Issuer) Federation(subject, audience string) Federation {
	return Federation{Issuer: i.URL, Subject: subject, Audience: audience, Key: &i.key.PublicKey}
}

// Token returns an RS256 JWT of the issuer for subject and audience,
// valid for ttl (negative: expired).
func (i *Issuer) Token(subject, audience string, ttl time.Duration) string {
	now := time.Now()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "issuer"})
	body := enc(map[string]any{"iss": i.URL, "sub": subject, "aud": audience, "iat": now.Unix(),
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(), "jti": rand.Text()})
	sum := sha256.Sum256([]byte(head + "." + body))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, i.key, crypto.SHA256, sum[:])
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sig)
}
