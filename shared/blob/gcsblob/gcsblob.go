// Package gcsblob is the blob driver for Google Cloud Storage, written on
// net/http against the JSON API (and V4 signed URLs of the XML API for
// presigned uploads), without Google's SDK. It authenticates only with the
// service-account JSON key it is given: it never reads Application
// Default Credentials, the environment's credential files or the metadata
// server, and every request (token exchanges included) goes through the
// caller's *http.Client.
package gcsblob

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// maxListRequests bounds the requests of one List. The JSON API may send
// fewer items than asked for, with a page token, so a listing of up to
// 1,000 keys may take more than one page; a server that answered pages
// with no items and a token forever would otherwise be asked until the
// deadline.
const maxListRequests = 5

// MaxPresignTTL is the longest lifetime of a V4 signed URL.
const MaxPresignTTL = 7 * 24 * time.Hour

// googleStorageBase is the scheme and host of the JSON API (and of signed
// URLs) outside tests.
const googleStorageBase = "https://storage.googleapis.com"

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
	// MaxAttempts bounds tries per idempotent call (List, ReadRange, CORS);
	// 0 means DefaultMaxAttempts. Only answers 429 and 5xx (of the storage
	// API or the token endpoint) are retried. Uploads and deletes are
	// never retried.
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
	hc       *http.Client // the caller's client, never following redirects
	tokens   *tokenSource // nil: unauthenticated (emulator)
	base     string       // scheme://host[/path] of the JSON API, no trailing slash
	name     string
	attempts int

	// Presigning.
	email    string
	key      *rsa.PrivateKey
	host     string // host[:port] of signed URLs
	insecure bool   // presigned URLs use http (an http test endpoint)
}

var (
	_ blob.Bucket     = (*Bucket)(nil)
	_ blob.CORSReader = (*Bucket)(nil)
)

// New returns a Bucket for opts. It checks opts, including the service
// account key, and does no network I/O.
func New(_ context.Context, opts Options) (*Bucket, error) {
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
	key, err := parseRSAKey(sa.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidServiceAccount, err)
	}
	b := &Bucket{
		base:  googleStorageBase,
		name:  opts.Bucket,
		email: sa.ClientEmail,
		key:   key,
		host:  strings.TrimPrefix(googleStorageBase, "https://"),
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, ErrBadEndpoint
		}
		b.base = strings.TrimSuffix(opts.Endpoint, "/")
		b.host = u.Host
		b.insecure = u.Scheme == "http"
	}
	// A copy of the caller's client that never follows redirects: the JSON
	// API does not use them, and one must not lead a request elsewhere.
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.hc = &hc
	if opts.Endpoint == "" || opts.TokenURL != "" {
		b.tokens = newTokenSource(sa, key, b.hc, opts.TokenURL)
	}
	b.attempts = opts.MaxAttempts
	if b.attempts <= 0 {
		b.attempts = DefaultMaxAttempts
	}
	return b, nil
}

// Close releases the client's idle connections. The Bucket must not be
// used afterwards.
func (b *Bucket) Close() error {
	b.hc.CloseIdleConnections()
	return nil
}

// listPage is the part of an objects.list answer List reads.
type listPage struct {
	Items []struct {
		Name string    `json:"name"`
		Size jsonInt64 `json:"size"`
	} `json:"items"`
	NextPageToken string `json:"nextPageToken"`
}

// List implements blob.Bucket, with at most maxListRequests pages for
// blob.ListLimit(limit) objects, each read (over netguard's client) under
// the limit for the keys it asks for.
func (b *Bucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	limit = blob.ListLimit(limit)
	objs := []blob.Object{}
	token := ""
	for req := 0; len(objs) < limit && req < maxListRequests; req++ {
		n := min(limit-len(objs), DefaultListLimit)
		q := url.Values{
			"prefix":     {prefix},
			"maxResults": {strconv.Itoa(n)},
			"fields":     {"items(name,size),nextPageToken"},
		}
		if token != "" {
			q.Set("pageToken", token)
		}
		var page listPage
		pageCtx := netguard.WithBodyLimit(ctx, netguard.ListingBodyBytes(n))
		if err := b.getJSON(pageCtx, b.bucketURL("/o")+"?"+q.Encode(), &page); err != nil {
			return nil, b.wrap("list", err)
		}
		for _, it := range page.Items {
			if len(objs) == limit {
				break
			}
			objs = append(objs, blob.Object{Key: it.Name, Size: int64(it.Size)})
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	return objs, nil
}

// ReadRange implements blob.Bucket. An n of 0 or less checks that key
// exists and returns no bytes.
func (b *Bucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	if n <= 0 {
		var meta struct{}
		if err := b.getJSON(ctx, b.objectURL(key)+"?fields=name", &meta); err != nil {
			return nil, b.wrap("read", err)
		}
		return []byte{}, nil
	}
	resp, err := b.call(ctx, b.attempts, request{
		method: http.MethodGet,
		url:    b.objectURL(key) + "?alt=media",
		header: http.Header{"Range": {fmt.Sprintf("bytes=0-%d", n-1)}},
	})
	if isInvalidRange(err) {
		// A range of an empty object cannot be satisfied; the object exists.
		return []byte{}, nil
	}
	if err != nil {
		return nil, b.wrap("read", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, n))
	if err != nil {
		return nil, b.wrap("read", withCtx(ctx, fmt.Errorf("read object: %w", err)))
	}
	return data, nil
}

// Put implements blob.Bucket with one single-request (media) upload,
// which is never retried.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	q := url.Values{"uploadType": {"media"}, "name": {key}}
	resp, err := b.call(ctx, 1, request{
		method: http.MethodPost,
		url:    b.base + "/upload/storage/v1/b/" + escape(b.name) + "/o?" + q.Encode(),
		body:   data,
		header: http.Header{"Content-Type": {"application/octet-stream"}},
	})
	if err != nil {
		return b.wrap("put", err)
	}
	return b.wrap("put", drain(ctx, resp))
}

// Delete implements blob.Bucket. Deleting a missing key is NotFound. A
// delete is not retried: a retry after a lost answer would report
// NotFound for a key that was just deleted.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	resp, err := b.call(ctx, 1, request{method: http.MethodDelete, url: b.objectURL(key)})
	if err != nil {
		return b.wrap("delete", err)
	}
	return b.wrap("delete", drain(ctx, resp))
}

// corsEntry is one entry of a bucket's cors metadata.
type corsEntry struct {
	Origins         []string `json:"origin"`
	Methods         []string `json:"method"`
	ResponseHeaders []string `json:"responseHeader"`
	MaxAgeSeconds   int      `json:"maxAgeSeconds"`
}

// CORS implements blob.CORSReader from the bucket's metadata, which needs
// the storage.buckets.get permission (a role with object permissions only
// gets AccessDenied). GCS's responseHeader list is both the headers a
// preflight admits and the headers a browser may read, so it fills both
// AllowedHeaders and ExposedHeaders.
func (b *Bucket) CORS(ctx context.Context) ([]blob.CORSRule, error) {
	var meta struct {
		CORS []corsEntry `json:"cors"`
	}
	if err := b.getJSON(ctx, b.bucketURL("")+"?fields=cors", &meta); err != nil {
		return nil, b.wrap("cors", err)
	}
	return corsRules(meta.CORS), nil
}

// corsRules converts GCS CORS entries to the portable shape.
func corsRules(in []corsEntry) []blob.CORSRule {
	out := make([]blob.CORSRule, 0, len(in))
	for _, c := range in {
		out = append(out, blob.CORSRule{
			AllowedOrigins: c.Origins,
			AllowedMethods: c.Methods,
			AllowedHeaders: c.ResponseHeaders,
			ExposedHeaders: c.ResponseHeaders,
			MaxAgeSeconds:  c.MaxAgeSeconds,
		})
	}
	return out
}

// getJSON GETs u (retried) and decodes the JSON answer into v.
func (b *Bucket) getJSON(ctx context.Context, u string, v any) error {
	resp, err := b.call(ctx, b.attempts, request{method: http.MethodGet, url: u})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, maxJSONBody, false)
	if err != nil {
		return withCtx(ctx, fmt.Errorf("read answer: %w", err))
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// drain reads and closes the body of an answer whose content is not used.
func drain(ctx context.Context, resp *http.Response) error {
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSONBody+1))
	if err == nil && n > maxJSONBody {
		err = &tooLargeError{limit: maxJSONBody}
	}
	if err != nil {
		return withCtx(ctx, fmt.Errorf("read answer: %w", err))
	}
	return nil
}

// bucketURL is the JSON API URL of the bucket, followed by suffix.
func (b *Bucket) bucketURL(suffix string) string {
	return b.base + "/storage/v1/b/" + escape(b.name) + suffix
}

// objectURL is the JSON API URL of object key.
func (b *Bucket) objectURL(key string) string {
	return b.bucketURL("/o/" + escape(key))
}

// jsonInt64 is an int64 the JSON API sends as a string ("size": "12"),
// also accepted as a number.
type jsonInt64 int64

func (n *jsonInt64) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("gcsblob: integer field: %w", err)
	}
	*n = jsonInt64(v)
	return nil
}
