// Package gcsblob is the blob driver for Google Cloud Storage, on Google's
// SDK (cloud.google.com/go/storage) over the JSON API, with V4 signed URLs
// of the XML API for presigned uploads. A Bucket authenticates in one of
// two ways, through the SDK's own auth library (cloud.google.com/go/auth):
//
//   - with the customer's service-account JSON key: it never reads
//     Application Default Credentials, the environment's credential files,
//     STORAGE_EMULATOR_HOST or the metadata server, and fetches tokens only
//     from GoogleTokenURL whatever the key's token_uri says;
//   - by impersonating the customer's service account (no key): bucketlink's
//     own Google principal (an Identity, from the operator's configuration)
//     asks the IAM Credentials API (GoogleIAMCredentialsURL) for a token of
//     that account and, for presigned URLs, for a signature (signBlob). The
//     customer grants the principal TokenCreatorRole on the account.
//
// Every request (token exchanges and IAM Credentials calls included) goes
// through the caller's *http.Client.
package gcsblob

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
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
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// DefaultMaxAttempts is how many times an idempotent call is tried by
// default.
const DefaultMaxAttempts = 2

// DefaultListLimit is the page size List asks for at most (the JSON API's
// maximum page, and blob.MaxListObjects).
const DefaultListLimit = 1000

// maxListRequests bounds the pages of one List: it may send
// maxListRequests × MaxAttempts requests, tries included. The JSON API may send
// fewer items than asked for, with a page token, so a listing of up to
// 1,000 keys may take more than one page; a server that answered pages
// with no items and a token forever would otherwise be asked until the
// deadline (the SDK's iterator follows tokens without a bound).
const maxListRequests = 5

// MaxPresignTTL is the longest lifetime of a V4 signed URL.
const MaxPresignTTL = 7 * 24 * time.Hour

// googleStorageHost is the host of the JSON API (and of signed URLs)
// outside tests.
const googleStorageHost = "storage.googleapis.com"

// Backoff between tries of an idempotent call.
const (
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = time.Second
)

// castagnoli is the CRC32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors New returns before any network I/O.
var (
	ErrNoServiceAccount       = errors.New("gcsblob: a service account JSON key (or a service account to impersonate) is required")
	ErrInvalidServiceAccount  = errors.New("gcsblob: the service account JSON key is invalid")
	ErrBothCredentials        = errors.New("gcsblob: give either a service account JSON key or a service account to impersonate, not both")
	ErrNoIdentity             = errors.New("gcsblob: impersonation needs bucketlink's own Google identity (Options.Identity)")
	ErrBadServiceAccountEmail = gcskey.ErrBadServiceAccountEmail
	ErrNoBucket               = errors.New("gcsblob: a bucket name is required")
	ErrNoHTTPClient           = errors.New("gcsblob: an HTTP client is required")
	ErrBadEndpoint            = errors.New("gcsblob: the endpoint must be an absolute http or https URL")
)

// Options configure one Bucket.
type Options struct {
	// Bucket is the bucket name.
	Bucket string
	// ServiceAccountJSON is the content of a service-account JSON key
	// (type "service_account"); required unless ImpersonateServiceAccount
	// is set. It must pass
	// ValidateServiceAccountJSON. Its token_uri is ignored: tokens always
	// come from GoogleTokenURL (or TokenURL in tests).
	ServiceAccountJSON string
	// ImpersonateServiceAccount is the e-mail of the customer's service
	// account to act as, instead of ServiceAccountJSON; it must pass
	// ValidateServiceAccountEmail. Identity is then required: its
	// principal must hold TokenCreatorRole on the account, or every call
	// fails with an *ImpersonationError.
	ImpersonateServiceAccount string
	// Identity is bucketlink's own Google principal (operator
	// configuration), for ImpersonateServiceAccount. Its IAM Credentials
	// calls go through its own HTTP client.
	Identity *Identity
	// HTTPClient carries every request, token exchanges included (in
	// production, netguard's client). Redirects are never followed.
	HTTPClient *http.Client
	// MaxAttempts bounds tries per idempotent call (List, ReadRange, CORS);
	// 0 means DefaultMaxAttempts. The SDK's retry policy decides what is
	// retried: answers 429 and 5xx (of the storage API or the token
	// endpoint) and dropped connections. Uploads and deletes carry no
	// precondition, so the SDK never retries them.
	MaxAttempts int

	// Endpoint is TEST ONLY and must never be set from a request: it points
	// the driver at an emulator such as fake-gcs-server, e.g.
	// "http://127.0.0.1:4443". Unless TokenURL is also set, requests then
	// carry no credentials at all, since the emulator does no OAuth;
	// presigned URLs are signed with the key as usual and name the
	// emulator's host (plain http when Endpoint is http).
	Endpoint string
	// TokenURL is TEST ONLY and must never be set from a request: it
	// replaces Google's OAuth token endpoint, to exercise the real
	// authentication path against a local token server. When set, requests
	// are authenticated even if Endpoint is set.
	TokenURL string
}

// Bucket is a blob.Bucket (and blob.CORSReader) on one GCS bucket.
type Bucket struct {
	hc     *http.Client // the caller's client, never following redirects
	client *storage.Client
	bkt    *storage.BucketHandle
	name   string
	// attempts is the tries of an idempotent call.
	attempts int

	// Presigning.
	email    string
	key      []byte        // PEM, for a service-account key
	signer   *impersonator // signBlob, for impersonation
	host     string        // host[:port] of signed URLs
	insecure bool          // presigned URLs use http (an http test endpoint)
}

var (
	_ blob.Bucket     = (*Bucket)(nil)
	_ blob.CORSReader = (*Bucket)(nil)
)

// New returns a Bucket for opts. It checks opts, including the service
// account key, and does no network I/O.
func New(ctx context.Context, opts Options) (*Bucket, error) {
	impersonate := opts.ImpersonateServiceAccount != ""
	switch {
	case impersonate && strings.TrimSpace(opts.ServiceAccountJSON) != "":
		return nil, ErrBothCredentials
	case !impersonate && strings.TrimSpace(opts.ServiceAccountJSON) == "":
		return nil, ErrNoServiceAccount
	case opts.Bucket == "":
		return nil, ErrNoBucket
	case opts.HTTPClient == nil:
		return nil, ErrNoHTTPClient
	case impersonate && opts.Identity == nil:
		return nil, ErrNoIdentity
	}
	b := &Bucket{name: opts.Bucket, host: googleStorageHost}
	var sa gcskey.ServiceAccount
	if impersonate {
		if err := ValidateServiceAccountEmail(opts.ImpersonateServiceAccount); err != nil {
			return nil, err
		}
		b.email = opts.ImpersonateServiceAccount
		b.signer = &impersonator{id: opts.Identity, target: b.email, scopes: []string{tokenScope}}
	} else {
		var problems []string
		sa, problems = gcskey.Parse(opts.ServiceAccountJSON)
		if len(problems) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrInvalidServiceAccount, strings.Join(problems, " "))
		}
		b.email, b.key = sa.ClientEmail, []byte(sa.PrivateKey)
	}
	endpoint := "https://" + googleStorageHost
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, ErrBadEndpoint
		}
		endpoint = strings.TrimSuffix(opts.Endpoint, "/")
		b.host = u.Host
		b.insecure = u.Scheme == "http"
	}
	// A copy of the caller's client that never follows redirects: the JSON
	// API does not use them, and one must not lead a request elsewhere.
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.hc = &hc
	storageHC := &http.Client{Transport: &boundedTransport{base: transportOf(&hc)}, CheckRedirect: hc.CheckRedirect}

	copts := []option.ClientOption{
		// An explicit endpoint: STORAGE_EMULATOR_HOST must not redirect
		// the traffic.
		option.WithEndpoint(endpoint + "/storage/v1/"),
		// No debug logging from GOOGLE_SDK_GO_LOGGING_LEVEL: it would log
		// requests.
		option.WithLogger(slog.New(slog.DiscardHandler)),
		storage.WithJSONReads(),
	}
	if impersonate || opts.Endpoint == "" || opts.TokenURL != "" {
		var creds *auth.Credentials
		if impersonate {
			creds = impersonatedCredentials(b.signer)
		} else {
			var err error
			if creds, err = newCredentials(sa, &hc, opts.TokenURL); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidServiceAccount, err)
			}
		}
		if err := addAuth(storageHC, creds); err != nil {
			return nil, err
		}
		// The credentials are given too, so that the SDK does not look for
		// default ones; with WithHTTPClient it uses the client as it is.
		copts = append(copts, option.WithAuthCredentials(creds))
	} else {
		copts = append(copts, option.WithoutAuthentication())
	}
	copts = append(copts, option.WithHTTPClient(storageHC))
	client, err := storage.NewClient(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gcsblob: storage client: %w", err)
	}
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	client.SetRetry(
		storage.WithMaxAttempts(attempts),
		storage.WithBackoff(gax.Backoff{Initial: initialBackoff, Max: maxBackoff, Multiplier: 2}),
		storage.WithPolicy(storage.RetryIdempotent),
	)
	b.attempts = attempts
	b.client = client
	b.bkt = client.Bucket(opts.Bucket)
	return b, nil
}

// transportOf is hc's RoundTripper, net/http's default for none.
func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// Close releases the client's idle connections. The Bucket must not be
// used afterwards.
func (b *Bucket) Close() error {
	err := b.client.Close()
	b.hc.CloseIdleConnections()
	return err
}

// List implements blob.Bucket with the SDK's iterator, asking for names
// and sizes only, with at most maxListRequests pages for
// blob.ListLimit(limit) objects, each read (over netguard's client) under
// the limit for the keys it asks for.
func (b *Bucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	limit = blob.ListLimit(limit)
	pageSize := min(limit, DefaultListLimit)
	ctx = netguard.WithBodyLimit(ctx, netguard.ListingBodyBytes(pageSize))
	ctx = withRequestBudget(ctx, maxListRequests*b.attempts)
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
		return nil, b.wrap("list", err)
	}
	it := b.bkt.Objects(ctx, q)
	it.PageInfo().MaxSize = pageSize
	objs := []blob.Object{}
	for len(objs) < limit {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if errors.Is(err, errBudgetSpent) {
			break // what the pages allowed for had
		}
		if err != nil {
			return nil, b.wrap("list", err)
		}
		objs = append(objs, blob.Object{Key: attrs.Name, Size: attrs.Size})
	}
	return objs, nil
}

// ReadRange implements blob.Bucket with the SDK's range reader. An n of 0
// or less checks that key exists and returns no bytes.
func (b *Bucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	obj := b.bkt.Object(key)
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
		return nil, b.wrap("read", withCtx(ctx, fmt.Errorf("read object: %w", err)))
	}
	return data, nil
}

// Put implements blob.Bucket with the SDK's writer, in one request
// (chunking off), which the SDK does not retry (no precondition). The
// data's CRC32C goes with it, for GCS to refuse an upload that arrives
// different; the SDK's own check, which compares its checksum with the
// one in the answer after the object is written, is off.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	w := b.bkt.Object(key).NewWriter(ctx)
	w.ChunkSize = 0
	w.ContentType = "application/octet-stream"
	w.CRC32C = crc32.Checksum(data, castagnoli)
	w.SendCRC32C = true
	w.DisableAutoChecksum = true
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return b.wrap("put", withCtx(ctx, err))
	}
	return b.wrap("put", withCtx(ctx, w.Close()))
}

// Delete implements blob.Bucket. Deleting a missing key is NotFound. The
// SDK does not retry a delete without a generation precondition: a retry
// after a lost answer would report NotFound for a key just deleted.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	return b.wrap("delete", b.bkt.Object(key).Delete(ctx))
}

// CORS implements blob.CORSReader from the bucket's metadata, which needs
// the storage.buckets.get permission (a role with object permissions only
// gets AccessDenied). GCS's responseHeader list is both the headers a
// preflight admits and the headers a browser may read, so it fills both
// AllowedHeaders and ExposedHeaders.
func (b *Bucket) CORS(ctx context.Context) ([]blob.CORSRule, error) {
	attrs, err := b.bkt.Attrs(ctx)
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

// PresignPut implements blob.Bucket with the SDK's V4 signed URL
// (path-style). With a service-account key it is signed locally with the
// key (no network I/O); when impersonating, the string to sign is signed by
// the IAM Credentials API's signBlob as the customer's service account,
// under ctx. The signature covers only the method, path and host, so the
// upload may send any Content-Type.
func (b *Bucket) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxPresignTTL {
		return "", b.wrap("presign", fmt.Errorf("gcsblob: presign ttl %s outside (0, %s]", ttl, MaxPresignTTL))
	}
	o := &storage.SignedURLOptions{
		GoogleAccessID: b.email,
		Method:         http.MethodPut,
		Expires:        time.Now().Add(ttl),
		Scheme:         storage.SigningSchemeV4,
		Style:          storage.PathStyle(),
		Hostname:       b.host,
		Insecure:       b.insecure,
	}
	if b.signer != nil {
		o.SignBytes = func(p []byte) ([]byte, error) { return b.signer.signBlob(ctx, p) }
	} else {
		o.PrivateKey = b.key
	}
	u, err := b.bkt.SignedURL(key, o)
	if err != nil {
		return "", b.wrap("presign", withCtx(ctx, err))
	}
	return u, nil
}

// withCtx adds ctx's error to err when ctx is done, so that a body read
// cut off by the deadline is classified as a timeout.
func withCtx(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}
