// Package googlefake is a loopback stand-in for two Google services that
// bucketlink's keyless GCS access calls: the Security Token Service (STS),
// which exchanges a workload-identity-federation subject token (here, a
// signed AWS GetCallerIdentity request) for a federated access token, and
// the IAM Service Account Credentials API, whose generateAccessToken and
// signBlob methods act as a service account for a caller that holds
// roles/iam.serviceAccountTokenCreator on it.
//
// It is a hand-written fake because no emulator of either service exists
// (fake-gcs-server serves Cloud Storage only, and does no OAuth). It is held
// to the request and response shapes Google documents:
//
//   - STS token exchange, https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token:
//     POST /v1/token, form-encoded grant_type
//     urn:ietf:params:oauth:grant-type:token-exchange, audience, scope,
//     requested_token_type urn:ietf:params:oauth:token-type:access_token,
//     subject_token, subject_token_type (urn:ietf:params:aws:token-type:aws4_request
//     for AWS, whose subject token is the URL-encoded JSON of a signed
//     GetCallerIdentity request: {"url", "method", "headers": [{"key", "value"}]},
//     https://cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds#rest);
//     answer {"access_token", "issued_token_type", "token_type": "Bearer",
//     "expires_in"}, errors in the OAuth 2.0 shape {"error", "error_description"}.
//   - generateAccessToken, https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken:
//     POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken with
//     {"delegates", "scope", "lifetime"}; answer {"accessToken", "expireTime"}.
//   - signBlob, https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob:
//     POST /v1/projects/-/serviceAccounts/{email}:signBlob with
//     {"delegates", "payload"} (base64); answer {"keyId", "signedBlob"}
//     (base64; RSASSA-PKCS1-v1_5 with SHA-256, which is what V4 signed URLs
//     need).
//
// Errors of the IAM Credentials API have Google's JSON error shape
// (https://cloud.google.com/apis/design/errors#http_mapping):
// {"error": {"code", "message", "status", "details"}}: 401 UNAUTHENTICATED
// for a missing or unknown bearer token, 403 PERMISSION_DENIED "Permission
// 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not
// exist)." both for a caller without the role and for a service account that
// does not exist (as Google answers a caller with no project-wide role).
//
// The fake checks what it is sent (methods, content types, fields, that a
// bearer token is one it issued and has not expired, that an AWS subject
// token is a SigV4-signed GetCallerIdentity whose x-goog-cloud-target-resource
// is the audience) and records what it found wrong; the test fails at
// cleanup if anything was.
package googlefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
)

// Token types and grant of the STS exchange.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeAWS4Request = "urn:ietf:params:aws:token-type:aws4_request"
)

// TokenLifetime is how long the tokens the fake issues are valid.
const TokenLifetime = time.Hour

// Server is a running fake on 127.0.0.1 (plain HTTP, or https with StartTLS).
type Server struct {
	// URL is the base, e.g. http://127.0.0.1:port: the IAM Credentials
	// API's base URL (in place of https://iamcredentials.googleapis.com).
	URL string

	tb  testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	audiences map[string]string          // WIF provider audience -> federated principal
	accounts  map[string]*rsa.PrivateKey // service accounts that exist -> their signing key
	grants    map[string]map[string]bool // member -> service accounts it may act as
	tokens    map[string]issued          // access token -> who, until when
	counts    map[string]int             // "sts", "generateAccessToken", "signBlob"
	signed    [][]byte                   // payloads signBlob signed
	bad       []string                   // what was wrong with requests
}

type issued struct {
	principal string
	expiry    time.Time
}

// Start starts a fake for this test and stops it when the test ends, failing
// the test then if a request did not have the documented shape.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, false)
}

// StartTLS is Start with an https server (a certificate of its own, which
// no client trusts: for tests where the request must be refused before
// the handshake).
func StartTLS(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, true)
}

func start(tb testing.TB, tls bool) *Server {
	s := &Server{
		tb:        tb,
		audiences: map[string]string{},
		accounts:  map[string]*rsa.PrivateKey{},
		grants:    map[string]map[string]bool{},
		tokens:    map[string]issued{},
		counts:    map[string]int{},
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Handshakes that clients refuse (the certificate is the test's own)
	// are expected; they are not logged.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	tb.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.bad {
			tb.Errorf("googlefake: %s", p)
		}
	})
	return s
}

// Client returns an HTTP client that trusts the fake's certificate (for
// its address 127.0.0.1).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// STSURL is the token exchange endpoint, in place of
// https://sts.googleapis.com/v1/token.
func (s *Server) STSURL() string { return s.URL + "/v1/token" }

// ImpersonationURL is the generateAccessToken URL of email, the
// service_account_impersonation_url of a credential configuration.
func (s *Server) ImpersonationURL(email string) string {
	return s.URL + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// AddServiceAccount creates a service account and returns the public half
// of the key signBlob signs with.
func (s *Server) AddServiceAccount(email string) *rsa.PublicKey {
	s.tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.tb.Fatalf("googlefake: generate key: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[email] = k
	return &k.PublicKey
}

// Federate configures a workload identity pool provider: a valid AWS
// subject token exchanged for audience
// (//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X)
// gets an access token of principal.
func (s *Server) Federate(audience, principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audiences[audience] = principal
}

// Grant gives member (a service account e-mail or a federated principal)
// roles/iam.serviceAccountTokenCreator on serviceAccount.
func (s *Server) Grant(member, serviceAccount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants[member] == nil {
		s.grants[member] = map[string]bool{}
	}
	s.grants[member][serviceAccount] = true
}

// Revoke takes the role Grant gave away again.
func (s *Server) Revoke(member, serviceAccount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants[member], serviceAccount)
}

// PrincipalOf returns whom an access token the fake issued acts for, and
// false for a token it did not issue.
func (s *Server) PrincipalOf(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.tokens[token]
	return it.principal, ok
}

// Count returns how many requests of kind ("sts", "generateAccessToken",
// "signBlob") the fake answered.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Signed returns the payloads signBlob signed, in order.
func (s *Server) Signed() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.signed)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/token":
		s.counts["sts"]++
		s.exchange(w, r)
	case strings.HasPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/"):
		name := strings.TrimPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/")
		email, method, ok := strings.Cut(name, ":")
		if !ok || (method != "generateAccessToken" && method != "signBlob") {
			s.googleError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
			return
		}
		s.counts[method]++
		s.act(w, r, email, method)
	default:
		s.bad = append(s.bad, "request to unknown path "+r.Method+" "+r.URL.Path)
		s.googleError(w, http.StatusNotFound, "NOT_FOUND", "Not found.")
	}
}

// exchange answers the STS token method.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.bad = append(s.bad, fmt.Sprintf("sts: %s with Content-Type %q, want a form POST", r.Method, r.Header.Get("Content-Type")))
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid request.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid form.")
		return
	}
	f := r.PostForm
	for k, want := range map[string]string{"grant_type": grantTokenExchange, "requested_token_type": tokenTypeAccessToken} {
		if got := f.Get(k); got != want {
			s.bad = append(s.bad, fmt.Sprintf("sts: %s = %q, want %q", k, got, want))
		}
	}
	if f.Get("scope") == "" {
		s.bad = append(s.bad, "sts: no scope")
	}
	audience := f.Get("audience")
	principal, known := s.audiences[audience]
	if !known {
		// What STS answers for an audience naming no provider.
		s.oauthError(w, http.StatusBadRequest, "invalid_target",
			"The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}
	if typ := f.Get("subject_token_type"); typ != tokenTypeAWS4Request {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "Unsupported subject_token_type "+typ)
		return
	}
	if err := checkAWSSubjectToken(f.Get("subject_token"), audience); err != nil {
		s.bad = append(s.bad, "sts: "+err.Error())
		s.oauthError(w, http.StatusBadRequest, "invalid_grant", "The subject token is not a valid signed GetCallerIdentity request.")
		return
	}
	tok := s.issue(principal)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": tokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int(TokenLifetime / time.Second),
	})
}

// awsSubjectToken is the documented shape of an AWS subject token.
type awsSubjectToken struct {
	URL     string `json:"url"`
	Method  string `json:"method"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// checkAWSSubjectToken checks the shape of a serialized, signed AWS
// GetCallerIdentity request.
func checkAWSSubjectToken(raw, audience string) error {
	dec, err := url.QueryUnescape(raw)
	if err != nil {
		return fmt.Errorf("subject token not URL-encoded: %v", err)
	}
	var st awsSubjectToken
	if err := json.Unmarshal([]byte(dec), &st); err != nil {
		return fmt.Errorf("subject token not JSON: %v", err)
	}
	u, err := url.Parse(st.URL)
	if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Host, ".amazonaws.com") || !strings.HasPrefix(u.Host, "sts.") {
		return fmt.Errorf("subject token url %q is not an AWS STS endpoint", st.URL)
	}
	if u.Query().Get("Action") != "GetCallerIdentity" || st.Method != http.MethodPost {
		return fmt.Errorf("subject token is %s %s, want POST ?Action=GetCallerIdentity", st.Method, st.URL)
	}
	h := map[string]string{}
	for _, kv := range st.Headers {
		h[strings.ToLower(kv.Key)] = kv.Value
	}
	if !strings.HasPrefix(h["authorization"], "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(h["authorization"], "/sts/aws4_request") {
		return fmt.Errorf("subject token has no SigV4 Authorization for sts: %q", h["authorization"])
	}
	if h["x-amz-date"] == "" || h["host"] != u.Host {
		return fmt.Errorf("subject token lacks x-amz-date or a host header matching its url")
	}
	if h["x-goog-cloud-target-resource"] != audience {
		return fmt.Errorf("subject token x-goog-cloud-target-resource = %q, want the audience %q", h["x-goog-cloud-target-resource"], audience)
	}
	if !strings.Contains(h["authorization"], "x-goog-cloud-target-resource") {
		return fmt.Errorf("subject token does not sign x-goog-cloud-target-resource")
	}
	return nil
}

// act answers generateAccessToken and signBlob.
func (s *Server) act(w http.ResponseWriter, r *http.Request, email, method string) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.bad = append(s.bad, fmt.Sprintf("%s: %s with Content-Type %q, want a JSON POST", method, r.Method, r.Header.Get("Content-Type")))
	}
	caller, ok := s.caller(r)
	if !ok {
		s.googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	permission := "iam.serviceAccounts.getAccessToken"
	if method == "signBlob" {
		permission = "iam.serviceAccounts.signBlob"
	}
	key, exists := s.accounts[email]
	if !exists || !s.grants[caller][email] {
		s.denied(w, permission)
		return
	}
	var body struct {
		Delegates []string `json:"delegates"`
		Scope     []string `json:"scope"`
		Lifetime  string   `json:"lifetime"`
		Payload   string   `json:"payload"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		s.bad = append(s.bad, method+": body is not JSON: "+err.Error())
		s.googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	if len(body.Delegates) > 0 {
		s.bad = append(s.bad, method+": delegates sent; bucketlink uses none")
	}
	switch method {
	case "generateAccessToken":
		if len(body.Scope) == 0 {
			s.bad = append(s.bad, "generateAccessToken: no scope")
			s.googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope is required.")
			return
		}
		if d, err := time.ParseDuration(body.Lifetime); body.Lifetime != "" && (err != nil || d <= 0 || d > 12*time.Hour) {
			s.bad = append(s.bad, "generateAccessToken: bad lifetime "+body.Lifetime)
		}
		tok := s.issue(email)
		writeJSON(w, http.StatusOK, map[string]any{
			"accessToken": tok,
			"expireTime":  s.tokens[tok].expiry.UTC().Format(time.RFC3339),
		})
	case "signBlob":
		payload, err := base64.StdEncoding.DecodeString(body.Payload)
		if err != nil || len(payload) == 0 {
			s.bad = append(s.bad, "signBlob: payload is not base64")
			s.googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid payload.")
			return
		}
		sum := sha256.Sum256(payload)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			s.googleError(w, http.StatusInternalServerError, "INTERNAL", "Internal error.")
			return
		}
		s.signed = append(s.signed, payload)
		writeJSON(w, http.StatusOK, map[string]any{
			"keyId":      fmt.Sprintf("%x", sha256.Sum256([]byte(email)))[:40],
			"signedBlob": base64.StdEncoding.EncodeToString(sig),
		})
	}
}

// caller returns the principal of the request's bearer token.
func (s *Server) caller(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	it, ok := s.tokens[tok]
	if !ok || time.Now().After(it.expiry) {
		return "", false
	}
	return it.principal, true
}

// issue makes a random access token for principal.
func (s *Server) issue(principal string) string {
	tok := "ya29.fake-" + rand.Text()
	s.tokens[tok] = issued{principal: principal, expiry: time.Now().Add(TokenLifetime)}
	return tok
}

// denied answers 403 as the IAM Credentials API does for a missing role.
func (s *Server) denied(w http.ResponseWriter, permission string) {
	writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
		"code":    http.StatusForbidden,
		"message": "Permission '" + permission + "' denied on resource (or it may not exist).",
		"status":  "PERMISSION_DENIED",
		"details": []any{map[string]any{
			"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
			"reason":   "IAM_PERMISSION_DENIED",
			"domain":   "iam.googleapis.com",
			"metadata": map[string]string{"permission": permission},
		}},
	}})
}

func (s *Server) googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (s *Server) oauthError(w http.ResponseWriter, code int, kind, desc string) {
	writeJSON(w, code, map[string]string{"error": kind, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// AWSCredentialConfig returns a workload-identity-federation credential
// configuration (type external_account) with AWS as the source, as
// `gcloud iam workload-identity-pools create-cred-config --aws` writes it
// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds#create-cred-config),
// exchanging at the fake's STS for audience and, when impersonate is not
// empty, impersonating that service account through the fake.
func (s *Server) AWSCredentialConfig(audience, impersonate string) []byte {
	cfg := map[string]any{
		"universe_domain":    "googleapis.com",
		"type":               "external_account",
		"audience":           audience,
		"subject_token_type": tokenTypeAWS4Request,
		"token_url":          s.STSURL(),
		"credential_source": map[string]any{
			"environment_id":                 "aws1",
			"region_url":                     "http://169.254.169.254/latest/meta-data/placement/availability-zone",
			"url":                            "http://169.254.169.254/latest/meta-data/iam/security-credentials",
			"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
		},
	}
	if impersonate != "" {
		cfg["service_account_impersonation_url"] = s.ImpersonationURL(impersonate)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		s.tb.Fatalf("googlefake: %v", err)
	}
	return b
}
