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
}

// Open implements verify.Opener with the config's account key or SAS
// token. It does no network I/O. An unusable account key is a *blob.Error
// with code SignatureMismatch, a missing credential or bad account name
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
	b, err := azureblob.New(azureblob.Options{
		AccountName: s.Account,
		Container:   s.Container,
		AccountKey:  creds[azure.CredAccountKey],
		SASToken:    creds[azure.CredSASToken],
		Endpoint:    endpoint,
		HTTPClient:  o.HTTPClient,
	})
	var sas *azureblob.SASProblem
	switch {
	case errors.Is(err, azureblob.ErrBadAccountKey):
		return nil, &blob.Error{Code: blob.SignatureMismatch, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrNoCredentials) || errors.Is(err, azureblob.ErrBothCredentials) ||
		errors.Is(err, azureblob.ErrBadAccountName):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.As(err, &sas):
		// The verifier reports SAS problems before opening; this is the
		// same answer for other callers.
		return nil, azure.WrapSAS(err)
	case errors.Is(err, azureblob.ErrBadEndpoint):
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrBadContainerName):
		return nil, &blob.Error{Code: blob.InvalidBucketName, Op: "open", Err: err}
	case err != nil:
		return nil, fmt.Errorf("azureopen: open azure_blob container %s: %w", s.Container, err)
	}
	return b, nil
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
