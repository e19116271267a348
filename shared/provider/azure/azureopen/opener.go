// Package azureopen opens the containers of azure_blob configs with the
// Azure driver (azureblob). It links the Azure SDK: only the verifier
// imports it.
package azureopen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/guard"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Opener opens azure_blob containers. HTTPClient is required.
type Opener struct {
	// HTTPClient carries every request (in production, netguard's).
	HTTPClient *http.Client
	// BlobEndpoint is TEST ONLY (BUCKETLINK_AZURE_BLOB_ENDPOINT): it sends
	// the traffic of configs that gave no azure_endpoint_url to
	// {BlobEndpoint}/{account}/, the path-style address of Azurite,
	// instead of https://{account}.blob.core.windows.net/.
	BlobEndpoint string
	// AuthorityHost is TEST ONLY (BUCKETLINK_AZURE_AUTHORITY_HOST): the
	// Entra ID authority host (e.g. https://127.0.0.1:port/ of
	// infra/testenv/entrafake) that service-principal configs ask for
	// their token in place of the Entra authority of their endpoint's
	// cloud. It is operator configuration: no request can name an
	// authority, so a client secret goes only to Microsoft's authority of
	// the cloud the endpoint belongs to (or to this override).
	AuthorityHost string
	// Assertion is bucketlink's own federated identity, which
	// workload_identity configs sign in with (BUCKETLINK_AZURE_FEDERATED_TOKEN);
	// nil fails them as unavailable (ErrNoFederatedIdentity).
	Assertion Assertion
}

// Open implements verify.Opener with the config's account key, SAS token
// or service principal (whose token azureblob asks of the Entra authority
// of the endpoint's cloud: never of an address a request gave). It does no
// network I/O. An unusable account key is a *blob.Error with code
// SignatureMismatch, a missing credential or bad account name
// InvalidAccessKey, a SAS token that cannot serve an *azure.SASError.
func (o *Opener) Open(_ context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	s, ok := c.Settings.(*azure.Settings)
	if !ok {
		return nil, fmt.Errorf("azureopen: open: provider %q is not azure_blob", c.Provider)
	}
	endpoint, err := o.endpoint(s)
	if err != nil {
		return nil, err
	}
	if err := guard.Refused(o.HTTPClient, endpoint); err != nil {
		return nil, err
	}
	opts := azureblob.Options{
		AccountName: s.Account,
		Container:   s.Container,
		AccountKey:  creds[azure.CredAccountKey],
		SASToken:    creds[azure.CredSASToken],
		Endpoint:    endpoint,
		HTTPClient:  o.HTTPClient,
	}
	if s.ServicePrincipal() {
		if err := o.principal(&opts, s, creds); err != nil {
			return nil, err
		}
	}
	b, err := azureblob.New(opts)
	var sas *azureblob.SASProblem
	switch {
	case errors.Is(err, azureblob.ErrBadAccountKey):
		return nil, &blob.Error{Code: blob.SignatureMismatch, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrNoSecret):
		return nil, &blob.Error{Code: blob.SignatureMismatch, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrNoCredentials) || errors.Is(err, azureblob.ErrBothCredentials) ||
		errors.Is(err, azureblob.ErrBadAccountName) || errors.Is(err, azureblob.ErrBadTenantID) ||
		errors.Is(err, azureblob.ErrBadClientID):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.As(err, &sas):
		// The verifier reports SAS problems before opening; this is the
		// same answer for other callers.
		return nil, azure.WrapSAS(err)
	case errors.Is(err, azureblob.ErrBadEndpoint) || errors.Is(err, azureblob.ErrNoAuthority):
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrBadContainerName):
		return nil, &blob.Error{Code: blob.InvalidBucketName, Op: "open", Err: err}
	case err != nil:
		return nil, fmt.Errorf("azureopen: open azure_blob container %s: %w", s.Container, err)
	}
	return b, nil
}

// principal sets the service principal of s in opts: its IDs and secret,
// and the operator's test authority when there is one; otherwise azureblob
// asks the Entra authority of the endpoint's cloud (and refuses an
// endpoint outside Azure's clouds, such as an emulator's, with
// ErrNoAuthority).
func (o *Opener) principal(opts *azureblob.Options, s *azure.Settings, creds storageconfig.Credentials) error {
	opts.AccountKey, opts.SASToken = "", ""
	opts.TenantID, opts.ClientID, opts.ClientSecret = s.TenantID, s.ClientID, creds[azure.CredClientSecret]
	if s.Federated() {
		if o.Assertion == nil {
			return &azureblob.EntraError{Err: ErrNoFederatedIdentity}
		}
		// The audience of the config's cloud (Entra's recommended one),
		// whatever authority the test override names.
		aud, err := azrules.FederationAudience(s.EffectiveEndpoint())
		if err != nil {
			return &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
		}
		assertion := o.Assertion
		opts.ClientSecret = ""
		opts.ClientAssertion = func(ctx context.Context) (string, error) { return assertion(ctx, aud) }
	}
	if o.AuthorityHost == "" {
		return nil
	}
	if u, err := url.Parse(o.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
		// MSAL speaks to https authorities only.
		return fmt.Errorf("%w: AuthorityHost must be an https URL", guard.ErrBadOverride)
	}
	if err := guard.Refused(o.HTTPClient, o.AuthorityHost); err != nil {
		return err
	}
	opts.AuthorityHost = o.AuthorityHost
	return nil
}

// endpoint is where s's requests go: its effective endpoint, or, for the
// derived one, the test override.
func (o *Opener) endpoint(s *azure.Settings) (string, error) {
	derived := azureblob.Endpoint(s.Account, "")
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = derived
	}
	if o.BlobEndpoint == "" || endpoint != derived {
		return endpoint, nil
	}
	u, err := url.Parse(o.BlobEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: AzureBlobEndpoint", guard.ErrBadOverride)
	}
	return strings.TrimSuffix(o.BlobEndpoint, "/") + "/" + s.Account + "/", nil
}
