// Package gcsblob is the blob driver for Google Cloud Storage, built on
// cloud.google.com/go/storage (JSON API). It authenticates only with the
// service-account JSON key it is given: it never reads Application
// Default Credentials, the environment's credential files or the metadata
// server, and every request (token exchanges included) goes through the
// caller's *http.Client.
package gcsblob

import (
	"context"
	"errors"
	"fmt"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// DefaultMaxAttempts is how many times an idempotent call is tried by
// default.
const DefaultMaxAttempts = 2

// DefaultListLimit is the page size List uses when limit is 0 or less
// (the JSON API's maximum page).
const DefaultListLimit = 1000

// MaxPresignTTL is the longest lifetime of a V4 signed URL.
const MaxPresignTTL = 7 * 24 * time.Hour

// googleStorageEndpoint is the JSON API base used outside tests.
const googleStorageEndpoint = "https://storage.googleapis.com/storage/v1/"

// Errors New returns before any network I/O.
var (
	ErrNoServiceAccount      = errors.New("gcsblob: a service account JSON key is required")
	ErrInvalidServiceAccount = errors.New("gcsblob: the service account JSON key is invalid")
	ErrNoBucket              = errors.New("gcsblob: a bucket name is required")
	ErrNoHTTPClient          = errors.New("gcsblob: an HTTP client is required")
	ErrBadEndpoint           = errors.New("gcsblob: the endpoint must be an absolute http or https URL")
)

// Options configure one Bucket.
type Options struct {
	// Bucket is the bucket name.
	Bucket string
	// ServiceAccountJSON is the content of a service-account JSON key
	// (type "service_account"); required. It must pass
	// ValidateServiceAccountJSON. Its token_uri is ignored: tokens always
	// come from Google's token endpoint (or TokenURL in tests).
	ServiceAccountJSON string
	// HTTPClient carries every request, token exchanges included (in
	// production, netguard's client). Redirects are never followed.
	HTTPClient *http.Client
	// MaxAttempts bounds tries per idempotent call; 0 means
	// DefaultMaxAttempts. Uploads are never retried.
	MaxAttempts int

	// Endpoint is TEST ONLY and must never be set from a request: it points
	// the driver at an emulator such as fake-gcs-server, e.g.
	// "http://127.0.0.1:4443". Unless TokenURL is also set, requests then
	// carry no credentials at all (option.WithoutAuthentication), since the
	// emulator does no OAuth; presigned URLs are signed with the key as
	// usual and name the emulator's host (plain http when Endpoint is http).
	Endpoint string
	// TokenURL is TEST ONLY and must never be set from a request: it
	// replaces Google's OAuth token endpoint, to exercise the real
	// authentication path against a local token server. When set, requests
	// are authenticated even if Endpoint is set.
	TokenURL string
}

// Bucket is a blob.Bucket (and blob.CORSReader) on one GCS bucket.
type Bucket struct {
	client   *storage.Client
	bucket   *storage.BucketHandle
	name     string
	email    string
	key      []byte
	insecure bool // presigned URLs use http (an http test endpoint)
}

var (
	_ blob.Bucket     = (*Bucket)(nil)
	_ blob.CORSReader = (*Bucket)(nil)
)

// New returns a Bucket for opts. It checks opts, including the service
// account key, and does no network I/O.
func New(ctx context.Context, opts Options) (*Bucket, error) {
	switch {
	case strings.TrimSpace(opts.ServiceAccountJSON) == "":
		return nil, ErrNoServiceAccount
	case opts.Bucket == "":
		return nil, ErrNoBucket
	case opts.HTTPClient == nil:
		return nil, ErrNoHTTPClient
	}
	sa, problems := gcskey.Parse(opts.ServiceAccountJSON)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidServiceAccount, strings.Join(problems, " "))
	}
	endpoint := googleStorageEndpoint
	insecure := false
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, ErrBadEndpoint
		}
		endpoint = strings.TrimSuffix(opts.Endpoint, "/") + "/storage/v1/"
		insecure = u.Scheme == "http"
	}
	// A copy of the caller's client that never follows redirects: the JSON
	// API does not use them, and one must not lead a request elsewhere.
	base := *opts.HTTPClient
	base.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	copts := []option.ClientOption{
		option.WithEndpoint(endpoint),
		storage.WithJSONReads(),
		storage.WithDisabledClientMetrics(),
	}
	if opts.Endpoint != "" && opts.TokenURL == "" {
		copts = append(copts, option.WithHTTPClient(&base), option.WithoutAuthentication())
	} else {
		creds, err := credentials(sa, &base, opts.TokenURL)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidServiceAccount, err)
		}
		authed := base
		authed.Transport = &authTransport{creds: creds, base: base.Transport}
		// WithAuthCredentials keeps the storage package from looking for
		// Application Default Credentials; the client it builds is ignored
		// in favour of ours, which adds the token.
		copts = append(copts, option.WithHTTPClient(&authed), option.WithAuthCredentials(creds))
	}
	client, err := storage.NewClient(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gcsblob: new client: %w", err)
	}
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	client.SetRetry(
		storage.WithMaxAttempts(attempts),
		storage.WithBackoff(gax.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}),
	)
	return &Bucket{
		client:   client,
		bucket:   client.Bucket(opts.Bucket),
		name:     opts.Bucket,
		email:    sa.ClientEmail,
		key:      []byte(sa.PrivateKey),
		insecure: insecure,
	}, nil
}

// Close releases the client's idle connections. The Bucket must not be
// used afterwards.
func (b *Bucket) Close() error { return b.client.Close() }

// List implements blob.Bucket. A limit of 0 or less means
// DefaultListLimit.
func (b *Bucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
		return nil, b.wrap("list", err)
	}
	it := b.bucket.Objects(ctx, q)
	it.PageInfo().MaxSize = min(limit, DefaultListLimit)
	objs := []blob.Object{}
	for len(objs) < limit {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, b.wrap("list", err)
		}
		objs = append(objs, blob.Object{Key: attrs.Name, Size: attrs.Size})
	}
	return objs, nil
}

// ReadRange implements blob.Bucket. An n of 0 or less checks that key
// exists and returns no bytes.
func (b *Bucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	obj := b.bucket.Object(key)
	if n <= 0 {
		if _, err := obj.Attrs(ctx); err != nil {
			return nil, b.wrap("read", err)
		}
		return []byte{}, nil
	}
	r, err := obj.NewRangeReader(ctx, 0, n)
	if isInvalidRange(err) {
		// A range of an empty object cannot be satisfied; the object exists.
		return []byte{}, nil
	}
	if err != nil {
		return nil, b.wrap("read", err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, b.wrap("read", err)
	}
	return data, nil
}

// Put implements blob.Bucket with one single-request upload.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // aborts the upload if Write fails
	w := b.bucket.Object(key).NewWriter(ctx)
	w.ChunkSize = 0 // one request, no resumable session
	w.ContentType = "application/octet-stream"
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return b.wrap("put", err)
	}
	return b.wrap("put", w.Close())
}

// Delete implements blob.Bucket. Deleting a missing key is NotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	return b.wrap("delete", b.bucket.Object(key).Delete(ctx))
}

// PresignPut implements blob.Bucket with a V4 signed URL, signed locally
// with the service account's private key (no network I/O). The signature
// covers only the method, path and host, so the upload may send any
// Content-Type.
func (b *Bucket) PresignPut(_ context.Context, key string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxPresignTTL {
		return "", b.wrap("presign", fmt.Errorf("gcsblob: presign ttl %s outside (0, %s]", ttl, MaxPresignTTL))
	}
	u, err := b.bucket.SignedURL(key, &storage.SignedURLOptions{
		GoogleAccessID: b.email,
		PrivateKey:     b.key,
		Method:         http.MethodPut,
		Expires:        time.Now().Add(ttl),
		Scheme:         storage.SigningSchemeV4,
		Style:          storage.PathStyle(),
		Insecure:       b.insecure,
	})
	if err != nil {
		return "", b.wrap("presign", err)
	}
	return u, nil
}

// CORS implements blob.CORSReader from the bucket's metadata, which needs
// the storage.buckets.get permission (a role with object permissions only
// gets AccessDenied). GCS's responseHeader list is both the headers a
// preflight admits and the headers a browser may read, so it fills both
// AllowedHeaders and ExposedHeaders.
func (b *Bucket) CORS(ctx context.Context) ([]blob.CORSRule, error) {
	attrs, err := b.bucket.Attrs(ctx)
	if err != nil {
		return nil, b.wrap("cors", err)
	}
	return corsRules(attrs.CORS), nil
}

// corsRules converts GCS CORS entries to the portable shape.
func corsRules(in []storage.CORS) []blob.CORSRule {
	out := make([]blob.CORSRule, 0, len(in))
	for _, c := range in {
		out = append(out, blob.CORSRule{
			AllowedOrigins: c.Origins,
			AllowedMethods: c.Methods,
			AllowedHeaders: c.ResponseHeaders,
			ExposedHeaders: c.ResponseHeaders,
			MaxAgeSeconds:  int(c.MaxAge / time.Second),
		})
	}
	return out
}

// authTransport adds an OAuth access token, fetched with the request's
// context so that the caller's deadline bounds the token exchange too.
type authTransport struct {
	creds *auth.Credentials
	base  http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.creds.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.Value)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
