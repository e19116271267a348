// Package gcsopen opens the buckets of gc_storage configs: the JSON API
// through Google's SDK (gcsblob) for a service-account key, the S3 driver
// against Google's XML API for an HMAC key. It links those SDKs: only the
// verifier imports it.
package gcsopen

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/guard"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// GoogleHMACEndpoint is the S3-compatible XML API of Google Cloud Storage,
// which HMAC interoperability keys sign for.
const GoogleHMACEndpoint = "https://storage.googleapis.com"

// GoogleHMACRegion is the region HMAC requests to Google are signed for:
// Google accepts "auto".
const GoogleHMACRegion = "auto"

// Opener opens gc_storage buckets. HTTPClient is required; the rest are
// operator overrides for tests and development.
type Opener struct {
	// HTTPClient carries every request (in production, netguard's).
	HTTPClient *http.Client
	// Endpoint is TEST ONLY (BUCKETLINK_GCS_ENDPOINT): it sends the JSON
	// API traffic of service-account configs to an emulator such as
	// fake-gcs-server, without authentication (see
	// gcsblob.Options.Endpoint).
	Endpoint string
	// HMACEndpoint replaces GoogleHMACEndpoint for HMAC configs
	// (BUCKETLINK_GCS_HMAC_ENDPOINT), e.g. a MinIO standing in for
	// Google's XML API in tests; fake-gcs-server does not serve it.
	HMACEndpoint string
	// HMACRegion replaces GoogleHMACRegion (BUCKETLINK_GCS_HMAC_REGION),
	// for an emulator that checks the signing region (MinIO: us-east-1).
	HMACRegion string
	// Identity is bucketlink's own Google principal, which impersonation
	// configs act through (BUCKETLINK_GCP_IDENTITY); nil fails them as
	// unavailable.
	Identity *gcsblob.Identity
}

// ErrNoIdentity fails an impersonation config where the operator has
// configured no Google identity.
var ErrNoIdentity = errors.New("gcsopen: impersonation configs need bucketlink's own Google identity (BUCKETLINK_GCP_IDENTITY), which is not configured")

// Open implements verify.Opener. It does no network I/O. A key the driver
// cannot use is a *blob.Error with code InvalidAccessKey.
func (o *Opener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	s, ok := c.Settings.(*gcs.Settings)
	if !ok {
		return nil, fmt.Errorf("gcsopen: open: provider %q is not gc_storage", c.Provider)
	}
	if s.HMAC() {
		return o.openHMAC(s, creds)
	}
	if err := guard.Refused(o.HTTPClient, o.Endpoint); err != nil {
		return nil, err
	}
	opts := gcsblob.Options{
		Bucket:             s.BucketName,
		ServiceAccountJSON: creds[gcs.CredServiceAccountJSON],
		HTTPClient:         o.HTTPClient,
		Endpoint:           o.Endpoint,
	}
	if s.Impersonation() {
		if o.Identity == nil {
			return nil, &gcsblob.ImpersonationError{ServiceAccount: s.ServiceAccountEmail, Method: "generateAccessToken", Unavailable: true, Err: ErrNoIdentity}
		}
		opts.ServiceAccountJSON, opts.ImpersonateServiceAccount, opts.Identity = "", s.ServiceAccountEmail, o.Identity
	}
	b, err := gcsblob.New(ctx, opts)
	switch {
	case errors.Is(err, gcsblob.ErrNoServiceAccount) || errors.Is(err, gcsblob.ErrInvalidServiceAccount) ||
		errors.Is(err, gcsblob.ErrBadServiceAccountEmail):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.Is(err, gcsblob.ErrBadEndpoint):
		return nil, fmt.Errorf("%w: GCSEndpoint: %v", guard.ErrBadOverride, err)
	case err != nil:
		return nil, fmt.Errorf("gcsopen: open gc_storage bucket %s: %w", s.BucketName, err)
	}
	return b, nil
}

// openHMAC opens a config with an HMAC key: the S3 driver against
// Google's XML API, path-style.
func (o *Opener) openHMAC(s *gcs.Settings, creds storageconfig.Credentials) (blob.Bucket, error) {
	endpoint, region := GoogleHMACEndpoint, GoogleHMACRegion
	if o.HMACEndpoint != "" {
		endpoint = o.HMACEndpoint
	}
	if o.HMACRegion != "" {
		region = o.HMACRegion
	}
	if err := guard.Refused(o.HTTPClient, endpoint); err != nil {
		return nil, err
	}
	b, err := s3blob.New(s3blob.Options{
		Bucket:          s.BucketName,
		Region:          region,
		AccessKeyID:     creds[gcs.CredHMACAccessID],
		SecretAccessKey: creds[gcs.CredHMACSecret],
		Endpoint:        endpoint,
		UsePathStyle:    true,
		HTTPClient:      o.HTTPClient,
	})
	switch {
	case errors.Is(err, s3blob.ErrNoCredentials):
		return nil, &blob.Error{Code: blob.InvalidAccessKey, Op: "open", Err: err}
	case errors.Is(err, s3blob.ErrBadEndpoint):
		return nil, fmt.Errorf("%w: GCSHMACEndpoint: %v", guard.ErrBadOverride, err)
	case err != nil:
		return nil, fmt.Errorf("gcsopen: open gc_storage bucket %s (hmac): %w", s.BucketName, err)
	}
	return b, nil
}
