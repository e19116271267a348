// Package anyblob opens the blob driver a storage config needs, chosen by
// its provider through that provider's opener package (s3open, gcsopen,
// azureopen): the list of openers below is the one place, besides the
// registry (package provider), that names every provider. Its Opener is
// the one verify.Opener the service wires; every driver it builds sends
// its requests through one shared *http.Client (in production,
// netguard's) and uses the config's own credentials only.
//
// The endpoint overrides on Opener are operator settings for tests and
// development (emulators standing in for the providers); no request can
// set them.
//
// Over netguard's client, Open refuses what the client would refuse on
// the first request, before any I/O (package guard): a plain-http
// endpoint (unless private endpoints are allowed; netguard.PlainHTTPError
// says why) and an endpoint that is a blocked IP address. Every check
// then fails alike, and no presigned URL is signed for such an endpoint.
package anyblob

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/guard"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/azure/azureopen"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/gcs/gcsopen"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// GoogleHMACEndpoint and GoogleHMACRegion are where, and for which
// region, gc_storage HMAC requests go by default (gcsopen).
const (
	GoogleHMACEndpoint = gcsopen.GoogleHMACEndpoint
	GoogleHMACRegion   = gcsopen.GoogleHMACRegion
)

// ErrUnsupportedProvider is returned by Open for a provider it has no
// opener for.
var ErrUnsupportedProvider = errors.New("anyblob: unsupported provider")

// ErrBadOverride is returned by Open when an operator endpoint override is
// not an absolute http or https URL.
var ErrBadOverride = guard.ErrBadOverride

// Opener opens the driver of a config's provider. It implements
// verify.Opener. HTTPClient is required; S3 serves aws_s3 and
// s3_compatible (its HTTPClient is used as it is; leave it nil to share
// Opener's); the rest are overrides for tests and development.
type Opener struct {
	// HTTPClient carries every request of every driver (in production,
	// netguard's client): required.
	HTTPClient *http.Client
	// S3 opens aws_s3 and s3_compatible configs, with their operator
	// settings (AWSEndpoint, Roles, Orgs). Nil means an s3open.Opener with
	// HTTPClient and nothing else; a nil S3.HTTPClient means HTTPClient.
	S3 *s3open.Opener

	// GCSEndpoint, GCSHMACEndpoint and GCSHMACRegion are gcsopen.Opener's
	// Endpoint (TEST ONLY, BUCKETLINK_GCS_ENDPOINT), HMACEndpoint and
	// HMACRegion.
	GCSEndpoint, GCSHMACEndpoint, GCSHMACRegion string
	// GCPIdentity is gcsopen.Opener's Identity: bucketlink's own Google
	// principal, for gc_storage impersonation configs.
	GCPIdentity *gcsblob.Identity
	// AzureBlobEndpoint is azureopen.Opener's BlobEndpoint (TEST ONLY,
	// BUCKETLINK_AZURE_BLOB_ENDPOINT).
	AzureBlobEndpoint string
	// AzureAuthorityHost is azureopen.Opener's AuthorityHost (TEST ONLY,
	// BUCKETLINK_AZURE_AUTHORITY_HOST).
	AzureAuthorityHost string
	// AzureAssertion is azureopen.Opener's Assertion: bucketlink's own
	// federated identity, for azure_blob workload_identity configs.
	AzureAssertion azureopen.Assertion
}

// opener is what each provider's opener package implements.
type opener interface {
	Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error)
}

// openers returns the opener of each provider, by its wire name.
func (o *Opener) openers() map[storageconfig.Provider]opener {
	s3o := o.s3()
	return map[storageconfig.Provider]opener{
		s3.NameAWS:        s3o,
		s3.NameCompatible: s3o,
		gcs.Name: &gcsopen.Opener{HTTPClient: o.HTTPClient, Endpoint: o.GCSEndpoint,
			HMACEndpoint: o.GCSHMACEndpoint, HMACRegion: o.GCSHMACRegion, Identity: o.GCPIdentity},
		azure.Name: &azureopen.Opener{HTTPClient: o.HTTPClient, BlobEndpoint: o.AzureBlobEndpoint,
			AuthorityHost: o.AzureAuthorityHost, Assertion: o.AzureAssertion},
	}
}

// Providers lists the providers Open serves (for the test that every
// registered provider has an opener).
func (o *Opener) Providers() []storageconfig.Provider {
	var out []storageconfig.Provider
	for p := range o.openers() {
		out = append(out, p)
	}
	return out
}

// Open implements verify.Opener: it returns the driver of c's provider
// with creds. Only an iam_role config of aws_s3 does network I/O here (STS,
// through S3.Roles). Credentials the driver cannot use (an unreadable
// service-account key or account key, a malformed SAS token) are a
// *blob.Error with code InvalidAccessKey or SignatureMismatch, so that
// they are reported on the credential's field.
func (o *Opener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	if o.HTTPClient == nil {
		return nil, errors.New("anyblob: Opener.HTTPClient is required")
	}
	op, ok := o.openers()[c.Provider]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedProvider, c.Provider)
	}
	return op.Open(ctx, c, creds)
}

func (o *Opener) s3() *s3open.Opener {
	if o.S3 == nil {
		return &s3open.Opener{HTTPClient: o.HTTPClient}
	}
	if o.S3.HTTPClient == nil {
		s := *o.S3
		s.HTTPClient = o.HTTPClient
		return &s
	}
	return o.S3
}
