// Package anyblob opens the blob driver a storage config needs, chosen by
// its provider: s3blob for aws_s3, s3_compatible and the HMAC keys of
// gc_storage, gcsblob for gc_storage service-account keys, azureblob for
// azure_blob. Its Opener is the one verify.Opener the service wires; every
// driver it builds sends its requests through one shared *http.Client (in
// production, netguard's) and uses the config's own credentials only.
//
// The endpoint overrides on Opener are operator settings for tests and
// development (emulators standing in for the providers); no request can
// set them.
//
// Over netguard's client, Open refuses what the client would refuse on
// the first request, before any I/O: a plain-http endpoint (unless private
// endpoints are allowed; netguard.PlainHTTPError says why) and an
// endpoint that is a blocked IP address. Every check then fails alike,
// and no presigned URL is signed for such an endpoint.
package anyblob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// GoogleHMACEndpoint is the S3-compatible XML API of Google Cloud Storage,
// which HMAC interoperability keys sign for.
const GoogleHMACEndpoint = "https://storage.googleapis.com"

// GoogleHMACRegion is the region HMAC requests to Google are signed for:
// Google accepts "auto".
const GoogleHMACRegion = "auto"

// ErrUnsupportedProvider is returned by Open for a provider it has no
// driver for.
var ErrUnsupportedProvider = errors.New("anyblob: unsupported provider")

// ErrBadOverride is returned by Open when an operator endpoint override is
// not an absolute http or https URL.
var ErrBadOverride = errors.New("anyblob: endpoint override must be an absolute http or https URL")

// Opener opens the driver of a config's provider. It implements
// verify.Opener. HTTPClient is required; S3 serves aws_s3 and
// s3_compatible (its HTTPClient is used as it is; leave it nil to share
// Opener's); the rest are overrides for tests and development.
type Opener struct {
	// HTTPClient carries every request of every driver (in production,
	// netguard's client): required.
	HTTPClient *http.Client
	// S3 opens aws_s3 and s3_compatible configs, with their operator
	// settings (AWSEndpoint, Roles, Orgs). Nil means an s3blob.Opener with
	// HTTPClient and nothing else; a nil S3.HTTPClient means HTTPClient.
	S3 *s3blob.Opener

	// GCSEndpoint is TEST ONLY (BUCKETLINK_GCS_ENDPOINT): it sends the
	// JSON API traffic of gc_storage service-account configs to an
	// emulator such as fake-gcs-server, without authentication (see
	// gcsblob.Options.Endpoint).
	GCSEndpoint string
	// GCSHMACEndpoint replaces GoogleHMACEndpoint for gc_storage HMAC
	// configs (BUCKETLINK_GCS_HMAC_ENDPOINT), e.g. a MinIO standing in for
	// Google's XML API in tests; fake-gcs-server does not serve it.
	GCSHMACEndpoint string
	// GCSHMACRegion replaces GoogleHMACRegion (BUCKETLINK_GCS_HMAC_REGION),
	// for an emulator that checks the signing region (MinIO: us-east-1).
	GCSHMACRegion string
	// AzureBlobEndpoint is TEST ONLY (BUCKETLINK_AZURE_BLOB_ENDPOINT): it
	// sends the traffic of azure_blob configs that gave no
	// azure_endpoint_url to {AzureBlobEndpoint}/{account}/, the path-style
	// address of Azurite, instead of https://{account}.blob.core.windows.net/.
	AzureBlobEndpoint string
}

// Open implements verify.Opener: it returns the driver of c's provider
// with creds. Only an iam_role config of aws_s3 does network I/O here (STS,
// through S.Roles). Credentials the driver cannot use (an unreadable
// service-account key or account key, a malformed SAS token) are a
// *blob.Error with code InvalidAccessKey or SignatureMismatch, so that
// they are reported on the credential's field.
func (o *Opener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	if o.HTTPClient == nil {
		return nil, errors.New("anyblob: Opener.HTTPClient is required")
	}
	switch c.Provider {
	case storageconfig.ProviderAWSS3, storageconfig.ProviderS3Compatible:
		s3 := o.s3()
		endpoint := c.S3EndpointURL
		if c.Provider == storageconfig.ProviderAWSS3 {
			endpoint = s3.AWSEndpoint // "" for AWS itself
		}
		if err := refused(s3.HTTPClient, endpoint); err != nil {
			return nil, err
		}
		return s3.Open(ctx, c, creds)
	case storageconfig.ProviderGCStorage:
		if c.GCStorageAuthMethod == storageconfig.GCSAuthHMAC {
			return o.openHMAC(c, creds)
		}
		if err := refused(o.HTTPClient, o.GCSEndpoint); err != nil {
			return nil, err
		}
		return o.openGCS(ctx, c, creds)
	case storageconfig.ProviderAzureBlob:
		return o.openAzure(c, creds)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedProvider, c.Provider)
}

// refused returns the error hc would fail the first request to endpoint
// with, when hc is a netguard client (netguard.Policy.CheckURL), as a
// *blob.Error with code Unreachable; nil for an endpoint it would send to,
// for "" (the provider's own https endpoint) and for another client.
func refused(hc *http.Client, endpoint string) error {
	p, ok := netguard.PolicyOf(hc)
	if !ok || endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil // the driver reports an endpoint it cannot use
	}
	if err := p.CheckURL(u); err != nil {
		return &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	}
	return nil
}

func (o *Opener) s3() *s3blob.Opener {
	if o.S3 == nil {
		return &s3blob.Opener{HTTPClient: o.HTTPClient}
	}
	if o.S3.HTTPClient == nil {
		s := *o.S3
		s.HTTPClient = o.HTTPClient
		return &s
	}
	return o.S3
}

// openGCS opens a gc_storage config with a service-account key.
func (o *Opener) openGCS(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	b, err := gcsblob.New(ctx, gcsblob.Options{
		Bucket:             c.GCStorageBucketName,
		ServiceAccountJSON: creds.ServiceAccountJSON,
		HTTPClient:         o.HTTPClient,
		Endpoint:           o.GCSEndpoint,
	})
	switch {
	case errors.Is(err, gcsblob.ErrNoServiceAccount) || errors.Is(err, gcsblob.ErrInvalidServiceAccount):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.Is(err, gcsblob.ErrBadEndpoint):
		return nil, fmt.Errorf("%w: GCSEndpoint: %v", ErrBadOverride, err)
	case err != nil:
		return nil, fmt.Errorf("anyblob: open gc_storage bucket %s: %w", c.GCStorageBucketName, err)
	}
	return b, nil
}

// openHMAC opens a gc_storage config with an HMAC key: the S3 driver
// against Google's XML API, path-style.
func (o *Opener) openHMAC(c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	endpoint, region := GoogleHMACEndpoint, GoogleHMACRegion
	if o.GCSHMACEndpoint != "" {
		endpoint = o.GCSHMACEndpoint
	}
	if o.GCSHMACRegion != "" {
		region = o.GCSHMACRegion
	}
	if err := refused(o.HTTPClient, endpoint); err != nil {
		return nil, err
	}
	b, err := s3blob.New(s3blob.Options{
		Bucket:          c.GCStorageBucketName,
		Region:          region,
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Endpoint:        endpoint,
		UsePathStyle:    true,
		HTTPClient:      o.HTTPClient,
	})
	switch {
	case errors.Is(err, s3blob.ErrNoCredentials):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.Is(err, s3blob.ErrBadEndpoint):
		return nil, fmt.Errorf("%w: GCSHMACEndpoint: %v", ErrBadOverride, err)
	case err != nil:
		return nil, fmt.Errorf("anyblob: open gc_storage bucket %s (hmac): %w", c.GCStorageBucketName, err)
	}
	return b, nil
}

// openAzure opens an azure_blob config with its account key or SAS token.
func (o *Opener) openAzure(c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	endpoint, err := o.azureEndpoint(c)
	if err != nil {
		return nil, err
	}
	if err := refused(o.HTTPClient, endpoint); err != nil {
		return nil, err
	}
	b, err := azureblob.New(azureblob.Options{
		AccountName: c.AzureAccountName,
		Container:   c.AzureContainerName,
		AccountKey:  creds.AzureAccountKey,
		SASToken:    creds.AzureSASToken,
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
		return nil, err
	case errors.Is(err, azureblob.ErrBadEndpoint):
		return nil, &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	case errors.Is(err, azureblob.ErrBadContainerName):
		return nil, &blob.Error{Code: blob.InvalidBucketName, Op: "open", Err: err}
	case err != nil:
		return nil, fmt.Errorf("anyblob: open azure_blob container %s: %w", c.AzureContainerName, err)
	}
	return b, nil
}

// azureEndpoint is where c's requests go: its effective endpoint, or, for
// the derived one, the test override.
func (o *Opener) azureEndpoint(c *storageconfig.Config) (string, error) {
	derived := azureblob.Endpoint(c.AzureAccountName, "")
	endpoint := c.AzureEndpointURL
	if endpoint == "" {
		endpoint = derived
	}
	if o.AzureBlobEndpoint == "" || endpoint != derived {
		return endpoint, nil
	}
	u, err := url.Parse(o.AzureBlobEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: AzureBlobEndpoint", ErrBadOverride)
	}
	return strings.TrimSuffix(o.AzureBlobEndpoint, "/") + "/" + c.AzureAccountName + "/", nil
}
