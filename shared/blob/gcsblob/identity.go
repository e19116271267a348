package gcsblob

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
)

// Google's fixed endpoints of the keyless flows: the token exchange of
// workload identity federation, and the IAM Service Account Credentials
// API (generateAccessToken, signBlob). No request, and no credential file,
// can send bucketlink's own credentials elsewhere; only tests replace them
// (IdentityOptions.STSURL, IdentityOptions.IAMCredentialsURL).
const (
	GoogleSTSURL            = "https://sts.googleapis.com/v1/token"
	GoogleIAMCredentialsURL = "https://iamcredentials.googleapis.com"
)

// TokenCreatorRole is the role the customer grants bucketlink's own Google
// principal on their service account, so that bucketlink may impersonate
// it: it holds iam.serviceAccounts.getAccessToken and
// iam.serviceAccounts.signBlob.
const TokenCreatorRole = "roles/iam.serviceAccountTokenCreator"

// cloudPlatformScope is the scope of bucketlink's own tokens: the IAM
// Credentials API asks for cloud-platform.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// ErrBadIdentity is wrapped by NewIdentity's errors: the operator's Google
// credentials cannot be used.
var ErrBadIdentity = errors.New("gcsblob: bucketlink's Google identity")

// IdentityOptions configure bucketlink's own Google identity, the
// principal that impersonates customers' service accounts. They are
// operator settings; no request can set them.
type IdentityOptions struct {
	// CredentialsJSON is a credential configuration (what
	// CredentialsFile would hold); it wins over CredentialsFile.
	CredentialsJSON []byte
	// CredentialsFile is a credential configuration file. Empty means
	// Application Default Credentials: the file GOOGLE_APPLICATION_CREDENTIALS
	// names, else the metadata server of Google's compute platforms. The
	// keyless choice on Lambda is a workload-identity-federation file
	// (type external_account) with AWS as the source: its subject token is
	// a GetCallerIdentity request signed with the function's own AWS
	// credentials (from the environment), so no Google key exists.
	//
	// Accepted types: external_account (AWS or file sources; its token_url
	// must be GoogleSTSURL and its service_account_impersonation_url, if
	// any, on GoogleIAMCredentialsURL), service_account and authorized_user
	// (token_uri Google's), impersonated_service_account (the same rules
	// for its source). Any other endpoint in the file is refused, so the
	// credentials are only ever sent to Google.
	CredentialsFile string
	// HTTPClient carries the token exchanges and IAM Credentials calls (in
	// production, netguard's client); required. The metadata server, for
	// ADC without a file, is reached by the SDK's own client.
	HTTPClient *http.Client

	// STSURL is TEST ONLY: it replaces GoogleSTSURL, the token_url a
	// credential file must name.
	STSURL string
	// IAMCredentialsURL is TEST ONLY: it replaces GoogleIAMCredentialsURL,
	// for the impersonation of customers' service accounts and as the
	// base a file's service_account_impersonation_url must have.
	IAMCredentialsURL string
	// OAuthTokenURL is TEST ONLY: it replaces GoogleTokenURL, the token_uri
	// a service_account or authorized_user file must name.
	OAuthTokenURL string
}

// Identity is bucketlink's own Google principal: the source credentials of
// impersonation, with their token cache. Build one at start-up and share
// it; it is safe for concurrent use.
type Identity struct {
	creds     *auth.Credentials
	hc        *http.Client
	iamURL    string
	principal string
}

// NewIdentity reads and checks the operator's credential configuration. It
// does no network I/O.
func NewIdentity(opts IdentityOptions) (*Identity, error) {
	if opts.HTTPClient == nil {
		return nil, ErrNoHTTPClient
	}
	ep := endpoints{sts: GoogleSTSURL, iam: GoogleIAMCredentialsURL, oauth: GoogleTokenURL}
	if opts.STSURL != "" {
		ep.sts = opts.STSURL
	}
	if opts.IAMCredentialsURL != "" {
		ep.iam = strings.TrimSuffix(opts.IAMCredentialsURL, "/")
	}
	if opts.OAuthTokenURL != "" {
		ep.oauth = opts.OAuthTokenURL
	}
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	id := &Identity{hc: &hc, iamURL: ep.iam}
	dopts := &credentials.DetectOptions{
		Scopes:              []string{cloudPlatformScope},
		Client:              &hc,
		DisableAsyncRefresh: true, // refreshed under the context of the request that needs a token
		Logger:              slog.New(slog.DiscardHandler),
	}
	raw := opts.CredentialsJSON
	file := opts.CredentialsFile
	if len(raw) == 0 && file == "" {
		file = os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	if len(raw) == 0 && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: read credential file: %v", ErrBadIdentity, err)
		}
		raw = b
	}
	if len(raw) == 0 {
		// The metadata server (GCE, Cloud Run, GKE).
		creds, err := credentials.DetectDefault(dopts)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadIdentity, err)
		}
		id.creds = creds
		return id, nil
	}
	typ, principal, err := ep.check(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIdentity, err)
	}
	creds, err := credentials.NewCredentialsFromJSON(typ, raw, dopts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIdentity, err)
	}
	id.creds, id.principal = creds, principal
	return id, nil
}

// Principal is the service account the identity acts as, when its
// configuration names one (a service_account key, or an external_account
// or impersonated_service_account that impersonates one); "" otherwise
// (a federated principal or a user; setup-info then shows what the
// operator configures).
func (id *Identity) Principal() string { return id.principal }

// endpoints are the only URLs a credential configuration may name.
type endpoints struct{ sts, iam, oauth string }

// credentialFile is the part of a credential configuration that names
// endpoints.
type credentialFile struct {
	Type                           string          `json:"type"`
	TokenURL                       string          `json:"token_url"`
	TokenURI                       string          `json:"token_uri"`
	ServiceAccountImpersonationURL string          `json:"service_account_impersonation_url"`
	ClientEmail                    string          `json:"client_email"`
	SourceCredentials              json.RawMessage `json:"source_credentials"`
	CredentialSource               *struct {
		EnvironmentID string `json:"environment_id"`
		File          string `json:"file"`
		URL           string `json:"url"`
		Executable    any    `json:"executable"`
		Certificate   any    `json:"certificate"`
	} `json:"credential_source"`
}

// check returns the type of a credential configuration and the service
// account it acts as, refusing one that names an endpoint other than
// ep's.
func (ep endpoints) check(raw []byte) (credentials.CredType, string, error) {
	var f credentialFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", "", fmt.Errorf("the credential configuration is not JSON: %v", err)
	}
	switch credentials.CredType(f.Type) {
	case credentials.ExternalAccount:
		if f.TokenURL != ep.sts {
			return "", "", fmt.Errorf("external_account token_url must be %s", ep.sts)
		}
		cs := f.CredentialSource
		switch {
		case cs == nil:
			return "", "", errors.New("external_account has no credential_source")
		case cs.Executable != nil || cs.Certificate != nil:
			return "", "", errors.New("external_account credential_source: only aws1 and file sources are accepted")
		case strings.HasPrefix(cs.EnvironmentID, "aws"):
			if cs.EnvironmentID != "aws1" {
				return "", "", fmt.Errorf("external_account environment_id %q is not aws1", cs.EnvironmentID)
			}
		case cs.File != "":
		default:
			return "", "", errors.New("external_account credential_source: only aws1 and file sources are accepted")
		}
		sa, err := ep.impersonated(f.ServiceAccountImpersonationURL, true)
		return credentials.ExternalAccount, sa, err
	case credentials.ServiceAccount:
		if f.TokenURI != ep.oauth {
			return "", "", fmt.Errorf("service_account token_uri must be %s", ep.oauth)
		}
		return credentials.ServiceAccount, f.ClientEmail, nil
	case credentials.AuthorizedUser:
		if f.TokenURI != "" && f.TokenURI != ep.oauth {
			return "", "", fmt.Errorf("authorized_user token_uri must be %s", ep.oauth)
		}
		return credentials.AuthorizedUser, "", nil
	case credentials.ImpersonatedServiceAccount:
		sa, err := ep.impersonated(f.ServiceAccountImpersonationURL, false)
		if err != nil {
			return "", "", err
		}
		if _, _, err := ep.check(f.SourceCredentials); err != nil {
			return "", "", fmt.Errorf("source_credentials: %v", err)
		}
		return credentials.ImpersonatedServiceAccount, sa, nil
	}
	return "", "", fmt.Errorf("credential type %q is not accepted (external_account, service_account, authorized_user, impersonated_service_account)", f.Type)
}

// impersonated checks a service_account_impersonation_url and returns the
// service account it names.
func (ep endpoints) impersonated(u string, optional bool) (string, error) {
	if u == "" && optional {
		return "", nil
	}
	prefix := ep.iam + "/v1/projects/-/serviceAccounts/"
	rest, ok := strings.CutPrefix(u, prefix)
	email, ok2 := strings.CutSuffix(rest, ":generateAccessToken")
	if !ok || !ok2 || ValidateServiceAccountEmail(email) != nil {
		return "", fmt.Errorf("service_account_impersonation_url must be %s{email}:generateAccessToken", prefix)
	}
	return email, nil
}
