// Package azureblob is the blob driver for Azure Blob Storage, built on
// github.com/Azure/azure-sdk-for-go/sdk/storage/azblob. A Bucket is one
// container of one storage account, opened with the account's shared key,
// a SAS token, or a Microsoft Entra ID service principal (tenant, client
// ID and client secret, through azidentity's client-credentials flow, whose
// token goes only to the Entra authority of the endpoint's cloud); it uses
// only those credentials and never reads the environment for others.
//
// The package also holds what the API layer checks before connecting:
// account and container naming rules (ValidateAccountName,
// ValidateContainerName), the endpoint a config resolves to (Endpoint) and
// what a SAS token grants (ParseSAS).
package azureblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// Retry defaults: a verification wants a prompt answer, not the SDK's
// three retries with 800ms back-off and no per-try bound.
const (
	DefaultMaxRetries = 1
	DefaultTryTimeout = 20 * time.Second
)

// Errors New returns before any network I/O. None contains a credential.
var (
	ErrNoCredentials    = errors.New("azureblob: an account key, a SAS token or a service principal is required")
	ErrBothCredentials  = errors.New("azureblob: give one of an account key, a SAS token and a service principal")
	ErrBadAccountKey    = errors.New("azureblob: the account key is not valid base64")
	ErrNoHTTPClient     = errors.New("azureblob: an HTTP client is required")
	ErrBadEndpoint      = azrules.ErrBadEndpoint
	ErrBadAccountName   = azrules.ErrBadAccountName
	ErrBadContainerName = azrules.ErrBadContainerName
)

// Options configure one Bucket. Exactly one of AccountKey, SASToken and
// the service principal (TenantID, ClientID, ClientSecret) is required.
type Options struct {
	// AccountName is the storage account, e.g. "mystorageacct".
	AccountName string
	// Container is the container within the account.
	Container string

	// AccountKey is one of the account's access keys (base64, as the
	// portal shows it); requests are signed with it (Shared Key).
	AccountKey string
	// SASToken is a shared access signature, with or without the leading
	// '?': a service SAS for the container or an account SAS.
	SASToken string

	// TenantID, ClientID and ClientSecret are a service principal's: the
	// directory (tenant) ID or one of its domains, the application
	// (client) ID, and one of its client secrets. Requests carry its
	// OAuth token (azidentity, client credentials, scope
	// https://storage.azure.com/.default), fetched from the Entra
	// authority of the endpoint's cloud (azrules.Authority) only; an
	// endpoint outside Azure's clouds is refused (ErrNoAuthority) unless
	// AuthorityHost is set. It needs a role with data access on the
	// container: RoleBlobContributor (RoleBlobReader for read-only).
	TenantID     string
	ClientID     string
	ClientSecret string
	// ClientAssertion, in place of ClientSecret, returns a federated
	// credential of the application: a JWT of an issuer the application
	// trusts (a federated identity credential in Entra ID), sent as
	// client_assertion (azidentity's ClientAssertionCredential). It is
	// bucketlink's own identity (operator configuration, e.g. a token of
	// AWS STS GetWebIdentityToken), never a request's; it is called for
	// every token request and must be safe for concurrent use.
	ClientAssertion func(ctx context.Context) (string, error)
	// AuthorityHost is TEST ONLY and must never be set from a request: the
	// Entra authority host (e.g. a loopback fake's https://127.0.0.1:port/)
	// in place of the endpoint's cloud's, for an endpoint such as Azurite's.
	AuthorityHost string

	// Endpoint overrides the account's blob endpoint (a sovereign cloud,
	// or Azurite's path-style http://127.0.0.1:10000/{account}). Empty
	// means https://{account}.blob.core.windows.net/; see Endpoint.
	Endpoint string

	// HTTPClient carries every request (in production, netguard's client).
	// Redirects are never followed whatever its CheckRedirect says.
	HTTPClient *http.Client
	// MaxRetries bounds retries per call: 0 means DefaultMaxRetries, a
	// negative value means none.
	MaxRetries int
	// TryTimeout bounds each try: 0 means DefaultTryTimeout.
	TryTimeout time.Duration
}

// Bucket is a blob.Bucket on one Azure Blob container. It also implements
// blob.CORSReader.
type Bucket struct {
	name      string
	container *container.Client
	svc       *service.Client // nil for a SAS token that cannot reach the service level
	cred      *service.SharedKeyCredential
	principal bool    // opened with a service principal (presigned PUTs are user delegation SAS)
	sasInfo   SASInfo // what the SAS token grants, when opened with one
	secrets   []string
}

var (
	_ blob.Bucket     = (*Bucket)(nil)
	_ blob.CORSReader = (*Bucket)(nil)
)

// New returns a Bucket for opts. It checks opts and does no network I/O.
// Its errors never contain the key or the token.
func New(opts Options) (*Bucket, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	endpoint := Endpoint(opts.AccountName, opts.Endpoint)
	copts := clientOptions(opts)
	containerURL := strings.TrimSuffix(endpoint, "/") + "/" + opts.Container
	b := &Bucket{name: opts.Container}
	if opts.ClientSecret != "" || opts.ClientAssertion != nil {
		authority := opts.AuthorityHost
		if authority == "" {
			a, err := azrules.Authority(endpoint)
			if err != nil {
				return nil, err
			}
			authority = a
		}
		cred, err := newPrincipalCredential(opts.TenantID, opts.ClientID, opts.ClientSecret, opts.ClientAssertion, authority, copts)
		if err != nil {
			return nil, err
		}
		svc, err := service.NewClient(endpoint, cred, &service.ClientOptions{ClientOptions: copts})
		if err != nil {
			return nil, fmt.Errorf("azureblob: service client: %w", err)
		}
		b.svc, b.principal = svc, true
		b.container = svc.NewContainerClient(opts.Container)
		b.secrets = []string{opts.ClientSecret}
		return b, nil
	}
	if opts.AccountKey != "" {
		cred, err := service.NewSharedKeyCredential(opts.AccountName, opts.AccountKey)
		if err != nil {
			return nil, ErrBadAccountKey
		}
		svc, err := service.NewClientWithSharedKeyCredential(endpoint, cred, &service.ClientOptions{ClientOptions: copts})
		if err != nil {
			return nil, fmt.Errorf("azureblob: service client: %w", err)
		}
		b.svc, b.cred = svc, cred
		b.container = svc.NewContainerClient(opts.Container)
		b.secrets = []string{opts.AccountKey}
		return b, nil
	}
	token := strings.TrimPrefix(strings.TrimSpace(opts.SASToken), "?")
	info, err := ParseSAS(token)
	if err != nil {
		return nil, err
	}
	c, err := container.NewClientWithNoCredential(containerURL+"?"+token, &container.ClientOptions{ClientOptions: copts})
	if err != nil {
		return nil, fmt.Errorf("azureblob: container client: %w", err)
	}
	b.container, b.sasInfo = c, info
	if info.Account() && strings.Contains(info.ResourceTypes, "s") {
		// An account SAS for the service level may read the service
		// properties (CORS rules).
		b.svc, err = service.NewClientWithNoCredential(endpoint+"?"+token, &service.ClientOptions{ClientOptions: copts})
		if err != nil {
			return nil, fmt.Errorf("azureblob: service client: %w", err)
		}
	}
	b.secrets = append([]string{token, info.Signature()}, rawParams(token, "sig")...)
	return b, nil
}

func checkOptions(opts Options) error {
	principal := opts.TenantID != "" || opts.ClientID != "" || opts.ClientSecret != "" || opts.ClientAssertion != nil
	n := 0
	for _, given := range []bool{opts.AccountKey != "", strings.TrimSpace(opts.SASToken) != "", principal} {
		if given {
			n++
		}
	}
	switch {
	case n == 0:
		return ErrNoCredentials
	case n > 1:
		return ErrBothCredentials
	case opts.HTTPClient == nil:
		return ErrNoHTTPClient
	}
	if principal {
		if err := azrules.ValidateTenantID(opts.TenantID); err != nil {
			return err
		}
		if err := azrules.ValidateClientID(opts.ClientID); err != nil {
			return err
		}
		switch {
		case opts.ClientSecret != "" && opts.ClientAssertion != nil:
			return ErrBothCredentials
		case opts.ClientSecret == "" && opts.ClientAssertion == nil:
			return ErrNoSecret
		}
	}
	if err := ValidateAccountName(opts.AccountName); err != nil {
		return err
	}
	if err := ValidateContainerName(opts.Container); err != nil {
		return err
	}
	if opts.Endpoint != "" {
		if err := ValidateEndpoint(opts.Endpoint); err != nil {
			return err
		}
	}
	return nil
}

// clientOptions are the SDK options for opts: its HTTP client without
// redirects, and bounded retries.
func clientOptions(opts Options) azcore.ClientOptions {
	// A copy of the caller's client that never follows redirects: the
	// Blob service does not use them, and one must not lead a signed
	// request elsewhere.
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	retries := int32(opts.MaxRetries)
	switch {
	case opts.MaxRetries == 0:
		retries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		retries = -1
	}
	try := opts.TryTimeout
	if try <= 0 {
		try = DefaultTryTimeout
	}
	return azcore.ClientOptions{
		Transport: &hc,
		Retry: policy.RetryOptions{
			MaxRetries:    retries,
			TryTimeout:    try,
			RetryDelay:    200 * time.Millisecond,
			MaxRetryDelay: time.Second,
		},
	}
}

// List implements blob.Bucket with one List Blobs (flat) call for
// blob.ListLimit(limit) blobs (Azure's page holds up to 5,000), whose answer
// netguard's client reads under the limit for that many blobs.
func (b *Bucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	limit = blob.ListLimit(limit)
	ctx = netguard.WithBodyLimit(ctx, netguard.ListingBodyBytes(limit))
	n := int32(limit)
	o := &container.ListBlobsFlatOptions{MaxResults: &n}
	if prefix != "" {
		o.Prefix = &prefix
	}
	page, err := b.container.NewListBlobsFlatPager(o).NextPage(ctx)
	if err != nil {
		return nil, b.wrap("list", err)
	}
	var objs []blob.Object
	if page.Segment != nil {
		// A server may send more than MaxResults: keep limit.
		items := page.Segment.BlobItems[:min(len(page.Segment.BlobItems), limit)]
		objs = make([]blob.Object, 0, len(items))
		for _, it := range items {
			if it == nil || it.Name == nil {
				continue
			}
			o := blob.Object{Key: *it.Name}
			if it.Properties != nil && it.Properties.ContentLength != nil {
				o.Size = *it.Properties.ContentLength
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// ReadRange implements blob.Bucket with a ranged Get Blob. An empty blob
// reads as no bytes.
func (b *Bucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("azureblob: read %s: n must be positive, got %d", key, n)
	}
	resp, err := b.container.NewBlobClient(key).DownloadStream(ctx, &azblobblob.DownloadStreamOptions{
		Range: azblobblob.HTTPRange{Offset: 0, Count: n},
	})
	if err != nil {
		if isInvalidRange(err) {
			// Azure answers 416 for any range of an empty blob.
			return []byte{}, nil
		}
		return nil, b.wrap("read", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, n))
	if err != nil {
		return nil, b.wrap("read", err)
	}
	return data, nil
}

// Put implements blob.Bucket with one Put Blob call (a block blob).
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	_, err := b.container.NewBlockBlobClient(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), nil)
	return b.wrap("put", err)
}

// Delete implements blob.Bucket. Azure answers BlobNotFound for a missing
// blob, so deleting one is NotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.container.NewBlobClient(key).Delete(ctx, nil)
	return b.wrap("delete", err)
}

// rawParams returns the values of name in a query string as written
// (still escaped), for scrubbing them from messages.
func rawParams(query, name string) []string {
	var vals []string
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, name+"="); ok && v != "" {
			vals = append(vals, v)
		}
	}
	return vals
}
