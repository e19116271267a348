package gcsblob_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/infra/testenv/googlefake"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// The workload identity pool provider and bucketlink's own service
// account of the keyless set-up: bucketlink's Lambda role is federated
// (AWS as the source), impersonates bucketlinkSA, which impersonates the
// customer's service account.
const (
	wifAudience  = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/bucketlink/providers/aws"
	federated    = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/bucketlink/subject/arn:aws:sts::111122223333:assumed-role/bucketlink-verify/fn"
	bucketlinkSA = "bucketlink@bucketlink-prod.iam.gserviceaccount.com"
)

// keyless is the keyless set-up: Google's STS and IAM Credentials (the
// loopback fake, since no emulator exists), fake-gcs-server behind a
// recorder of the bearer tokens storage requests carry, and bucketlink's
// Identity from an external_account file with AWS credentials from the
// environment, as on Lambda.
type keyless struct {
	g   *googlefake.Server
	gcs *testenv.FakeGCS
	id  *gcsblob.Identity
	// endpoint is the recorder in front of fake-gcs-server.
	endpoint string

	mu     sync.Mutex
	bearer []string // Authorization of each storage request
}

func newKeyless(t *testing.T) *keyless {
	t.Helper()
	// The AWS source reads the function's credentials from the environment
	// (Lambda sets these); nothing is sent to AWS.
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-"+testenv.BucketName(t, "k"))
	t.Setenv("AWS_SESSION_TOKEN", "test-session-token")
	k := &keyless{g: googlefake.Start(t), gcs: testenv.SharedFakeGCS(t)}
	k.g.Federate(wifAudience, federated)
	k.g.AddServiceAccount(bucketlinkSA)
	k.g.Grant(federated, bucketlinkSA)
	id, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{
		CredentialsJSON:   k.g.AWSCredentialConfig(wifAudience, bucketlinkSA),
		HTTPClient:        netguard.Policy{AllowPrivate: true}.HTTPClient(),
		STSURL:            k.g.STSURL(),
		IAMCredentialsURL: k.g.URL,
	})
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	if id.Principal() != bucketlinkSA {
		t.Errorf("Principal = %q, want %q", id.Principal(), bucketlinkSA)
	}
	k.id = id
	target, _ := url.Parse(k.gcs.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("X-Goog-Signature") == "" { // a presigned URL carries no token
			k.mu.Lock()
			k.bearer = append(k.bearer, r.Header.Get("Authorization"))
			k.mu.Unlock()
		}
		r.Host = target.Host // fake-gcs-server routes XML API requests by its public host
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	k.endpoint = srv.URL
	return k
}

// customer creates a customer service account, granting bucketlink's
// principal the token creator role on it when grant is set.
func (k *keyless) customer(t *testing.T, grant bool) (email string, pub *rsa.PublicKey) {
	t.Helper()
	email = testenv.BucketName(t, "data") + "@customer-proj.iam.gserviceaccount.com"
	pub = k.g.AddServiceAccount(email)
	if grant {
		k.g.Grant(bucketlinkSA, email)
	}
	return email, pub
}

func (k *keyless) open(t *testing.T, bucket, sa string) *gcsblob.Bucket {
	t.Helper()
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket:                    bucket,
		ImpersonateServiceAccount: sa,
		Identity:                  k.id,
		HTTPClient:                &http.Client{},
		Endpoint:                  k.endpoint,
		MaxAttempts:               1,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// checkTokens fails unless every storage request carried a token the fake
// issued for sa.
func (k *keyless) checkTokens(t *testing.T, sa string) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.bearer) == 0 {
		t.Fatal("no storage request reached fake-gcs-server")
	}
	for _, h := range k.bearer {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		who, issued := k.g.PrincipalOf(tok)
		if !ok || !issued || who != sa {
			t.Fatalf("a storage request carried Authorization %.20q… (principal %q), want a token of %s", h, who, sa)
		}
	}
}

// TestImpersonationConformance runs the blob suite on buckets opened by
// impersonating the customer's service account, with no key anywhere:
// AWS credentials → STS → bucketlink's service account → the customer's,
// whose token every storage request carries; the presigned PUT is signed
// by signBlob.
func TestImpersonationConformance(t *testing.T) {
	k := newKeyless(t)
	sa, _ := k.customer(t, true)
	blobtest.Run(t, blobtest.Harness{
		Bucket: func(t *testing.T) blob.Bucket {
			name := testenv.BucketName(t, "imp")
			k.gcs.CreateBucket(t, name)
			return k.open(t, name, sa)
		},
		MissingBucket: func(t *testing.T) blob.Bucket {
			return k.open(t, testenv.BucketName(t, "missing"), sa)
		},
		DeleteMissingIsNotFound: true,
	})
	k.checkTokens(t, sa)
	if k.g.Count("sts") == 0 || k.g.Count("generateAccessToken") == 0 || k.g.Count("signBlob") == 0 {
		t.Errorf("calls: sts %d, generateAccessToken %d, signBlob %d; want each at least once",
			k.g.Count("sts"), k.g.Count("generateAccessToken"), k.g.Count("signBlob"))
	}
}

// TestImpersonationPresignSignature checks that the presigned URL carries
// the signature signBlob made as the customer's account over the V4
// string to sign, and names that account.
func TestImpersonationPresignSignature(t *testing.T) {
	k := newKeyless(t)
	sa, pub := k.customer(t, true)
	b := k.open(t, "presign-bucket", sa)
	u, err := b.PresignPut(t.Context(), "uploads/x.bin", 10*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if !strings.HasPrefix(q.Get("X-Goog-Credential"), sa+"/") {
		t.Errorf("X-Goog-Credential = %q, want the customer's account %s", q.Get("X-Goog-Credential"), sa)
	}
	signed := k.g.Signed()
	if len(signed) != 1 {
		t.Fatalf("signBlob signed %d payloads, want 1", len(signed))
	}
	if !strings.HasPrefix(string(signed[0]), "GOOG4-RSA-SHA256\n") {
		t.Errorf("signed payload is not a V4 string to sign: %q", signed[0])
	}
	sig, err := hex.DecodeString(q.Get("X-Goog-Signature"))
	if err != nil {
		t.Fatalf("X-Goog-Signature: %v", err)
	}
	sum := sha256.Sum256(signed[0])
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("the URL's signature is not the customer account's over the string to sign: %v", err)
	}
}

// TestImpersonationDenied checks the answers of a principal that may not
// impersonate: an account without the grant, one that does not exist, and
// a grant revoked after a first verification. Each fails every call with
// AccessDenied and an *ImpersonationError naming the missing role, and no
// storage request is sent.
func TestImpersonationDenied(t *testing.T) {
	k := newKeyless(t)
	noGrant, _ := k.customer(t, false)
	revoked, _ := k.customer(t, true)
	name := testenv.BucketName(t, "denied")
	k.gcs.CreateBucket(t, name)
	if _, err := k.open(t, name, revoked).List(t.Context(), "", 1); err != nil {
		t.Fatalf("List before the revocation: %v", err)
	}
	k.g.Revoke(bucketlinkSA, revoked)
	k.mu.Lock()
	k.bearer = nil
	k.mu.Unlock()
	for _, sa := range []string{noGrant, "ghost-account@customer-proj.iam.gserviceaccount.com", revoked} {
		t.Run(sa, func(t *testing.T) {
			b := k.open(t, name, sa)
			_, listErr := b.List(t.Context(), "", 1)
			_, presignErr := b.PresignPut(t.Context(), "k", time.Minute)
			for op, err := range map[string]error{"list": listErr, "put": b.Put(t.Context(), "k", []byte("x")), "presign": presignErr} {
				var ie *gcsblob.ImpersonationError
				if !errors.As(err, &ie) || !ie.ImpersonationDenied() || blob.CodeOf(err) != blob.AccessDenied {
					t.Fatalf("%s = %v; want AccessDenied with a denied *ImpersonationError", op, err)
				}
				if ie.ServiceAccount != sa || ie.Status != http.StatusForbidden || ie.MissingRole() != "roles/iam.serviceAccountTokenCreator" {
					t.Errorf("%s: %+v; want the account, 403 and the token creator role", op, ie)
				}
			}
		})
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.bearer) != 0 {
		t.Errorf("%d storage requests were sent without a token", len(k.bearer))
	}
}

// TestImpersonationUnavailable checks that bucketlink's own credentials
// failing (STS refusing the federation) is not the customer's fault.
func TestImpersonationUnavailable(t *testing.T) {
	k := newKeyless(t)
	sa, _ := k.customer(t, true)
	id, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{
		CredentialsJSON:   k.g.AWSCredentialConfig(wifAudience+"-deleted", bucketlinkSA),
		HTTPClient:        netguard.Policy{AllowPrivate: true}.HTTPClient(),
		STSURL:            k.g.STSURL(),
		IAMCredentialsURL: k.g.URL,
	})
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket: "b", ImpersonateServiceAccount: sa, Identity: id, HTTPClient: &http.Client{}, Endpoint: k.endpoint, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer b.Close()
	_, err = b.List(t.Context(), "", 1)
	var ie *gcsblob.ImpersonationError
	if !errors.As(err, &ie) || ie.ImpersonationDenied() || blob.CodeOf(err) == blob.AccessDenied {
		t.Fatalf("List = %v; want an unavailable *ImpersonationError, not AccessDenied", err)
	}
	if n := k.g.Count("generateAccessToken"); n != 0 {
		t.Errorf("generateAccessToken called %d times without bucketlink's own token", n)
	}
}

// TestImpersonationTrafficThroughNetguard checks that the STS exchange and
// the IAM Credentials calls go through the identity's netguard client: with
// the production policy, the fake on loopback (named as localhost, so the
// guarded dialer refuses it after resolution) is never reached, and the
// failure is an unavailable impersonation wrapping a *netguard.BlockedError.
// In the second case only the STS exchange is let through (by a transport
// of the test), to show that generateAccessToken and signBlob take the
// guarded client too.
func TestImpersonationTrafficThroughNetguard(t *testing.T) {
	k := newKeyless(t)
	sa, _ := k.customer(t, true)
	// An https fake, so that the guarded dialer (not the plain-http
	// refusal before it) is what stops the requests.
	k.g = googlefake.StartTLS(t)
	k.g.Federate(wifAudience, federated)
	k.g.AddServiceAccount(sa)
	k.g.Grant(federated, sa)
	local := strings.Replace(k.g.URL, "127.0.0.1", "localhost", 1)
	guarded := netguard.Policy{}.HTTPClient()
	for _, tt := range []struct {
		name    string
		client  *http.Client
		wantSTS bool
	}{
		{name: "sts", client: guarded},
		{name: "iam credentials", client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/v1/token" {
				return k.g.Client().Transport.RoundTrip(r)
			}
			return guarded.Transport.RoundTrip(r)
		})}, wantSTS: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := k.g.Count("sts")
			sts := local + "/v1/token"
			if tt.wantSTS {
				sts = k.g.STSURL()
			}
			cfg := strings.ReplaceAll(string(k.g.AWSCredentialConfig(wifAudience, "")), k.g.STSURL(), sts)
			id, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{
				CredentialsJSON:   []byte(cfg),
				HTTPClient:        tt.client,
				STSURL:            sts,
				IAMCredentialsURL: local,
			})
			if err != nil {
				t.Fatalf("NewIdentity: %v", err)
			}
			b, err := gcsblob.New(t.Context(), gcsblob.Options{
				Bucket: "b", ImpersonateServiceAccount: sa, Identity: id, HTTPClient: &http.Client{}, Endpoint: k.endpoint, MaxAttempts: 1,
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer b.Close()
			_, listErr := b.List(t.Context(), "", 1)
			_, presignErr := b.PresignPut(t.Context(), "k", time.Minute)
			for op, err := range map[string]error{"list": listErr, "presign": presignErr} {
				var be *netguard.BlockedError
				var ie *gcsblob.ImpersonationError
				if !errors.As(err, &be) || !errors.As(err, &ie) || ie.ImpersonationDenied() {
					t.Errorf("%s = %v; want an unavailable *ImpersonationError with a *netguard.BlockedError", op, err)
				}
			}
			if got := k.g.Count("sts") > before; got != tt.wantSTS {
				t.Errorf("STS reached: %v, want %v", got, tt.wantSTS)
			}
		})
	}
	for _, kind := range []string{"generateAccessToken", "signBlob"} {
		if n := k.g.Count(kind); n != 0 {
			t.Errorf("the fake got %d %s requests through the production policy, want none", n, kind)
		}
	}
}

// TestNewIdentityRefusesOtherEndpoints checks that a credential
// configuration naming any endpoint but Google's is refused before any
// I/O, so bucketlink's own credentials only ever go to Google.
func TestNewIdentityRefusesOtherEndpoints(t *testing.T) {
	g := googlefake.Start(t)
	good := string(g.AWSCredentialConfig(wifAudience, bucketlinkSA))
	prod := strings.ReplaceAll(strings.ReplaceAll(good, g.STSURL(), gcsblob.GoogleSTSURL), g.URL, gcsblob.GoogleIAMCredentialsURL)
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{name: "production external_account", json: prod, ok: true},
		{name: "other token_url", json: strings.Replace(prod, gcsblob.GoogleSTSURL, "https://sts.example.com/v1/token", 1)},
		{name: "other impersonation url", json: strings.Replace(prod, gcsblob.GoogleIAMCredentialsURL, "https://iam.example.com", 1)},
		{name: "url source", json: strings.Replace(prod, `"environment_id":"aws1",`, "", 1)},
		{name: "executable source", json: strings.Replace(prod, `"environment_id":"aws1"`, `"executable":{"command":"/bin/true"}`, 1)},
		{name: "service account with another token_uri", json: gcsblob.ServiceAccountJSON(t, func(f map[string]any) { f["token_uri"] = "https://evil.example.com/token" })},
		{name: "service account", json: gcsblob.ServiceAccountJSON(t, nil), ok: true},
		{name: "unknown type", json: `{"type":"gdch_service_account"}`},
		{name: "not JSON", json: `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{CredentialsJSON: []byte(tt.json), HTTPClient: &http.Client{}})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, gcsblob.ErrBadIdentity)) {
				t.Fatalf("NewIdentity = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if n := g.Count("sts") + g.Count("generateAccessToken"); n != 0 {
		t.Errorf("NewIdentity made %d requests", n)
	}
}
