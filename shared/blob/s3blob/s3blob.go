// Package s3blob is the blob driver for Amazon S3 and S3-compatible stores,
// built on aws-sdk-go-v2. It uses only the credentials it is given: it
// never reads the environment, shared config files or instance metadata.
// For configs with s3_auth_method "iam_role", those are the temporary
// credentials of the customer's role, from package awsrole.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// DefaultMaxAttempts is how many times a call is tried by default.
const DefaultMaxAttempts = 2

// Errors New returns before any network I/O.
var (
	ErrNoCredentials = errors.New("s3blob: credentials are required: an access key ID and a secret access key, or a provider")
	ErrNoBucket      = errors.New("s3blob: a bucket name is required")
	ErrNoRegion      = errors.New("s3blob: a region is required")
	ErrNoHTTPClient  = errors.New("s3blob: an HTTP client is required")
	ErrBadEndpoint   = errors.New("s3blob: the endpoint must be an absolute http or https URL")
)

// Options configure one Bucket.
type Options struct {
	Bucket          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	// Credentials, when set, replaces AccessKeyID and SecretAccessKey: the
	// temporary credentials of an assumed role (see awsrole).
	Credentials aws.CredentialsProvider

	// Endpoint overrides the AWS endpoints (an S3-compatible store, or an
	// emulator standing in for AWS), e.g. "https://minio.example.com:9000".
	Endpoint string
	// UsePathStyle addresses the bucket as endpoint/bucket instead of
	// bucket.endpoint.
	UsePathStyle bool
	// Accelerate uses S3 Transfer Acceleration; it is ignored when Endpoint
	// is set.
	Accelerate bool

	// HTTPClient carries every request (in production, netguard's client).
	// Redirects are never followed whatever its CheckRedirect says.
	HTTPClient *http.Client
	// MaxAttempts bounds tries per call; 0 means DefaultMaxAttempts.
	MaxAttempts int
}

// Bucket is a blob.Bucket on one S3 bucket.
type Bucket struct {
	client *s3.Client
	name   string
	region string
	// requesterPays is set once a listing showed the bucket to be
	// requester-pays (see listPaying).
	requesterPays atomic.Bool
}

var _ blob.Bucket = (*Bucket)(nil)

// New returns a Bucket for opts. It checks opts and does no network I/O.
// A bucket name with dots is addressed path-style over TLS (the SDK's
// endpoint rules do so, as a dotted name breaks the certificate of
// virtual-hosted addressing); with Accelerate, which has no path style,
// New refuses it as InvalidBucketName (ErrAccelerateDottedName).
func New(opts Options) (*Bucket, error) {
	switch {
	case opts.Credentials == nil && (opts.AccessKeyID == "" || opts.SecretAccessKey == ""):
		return nil, ErrNoCredentials
	case opts.Bucket == "":
		return nil, ErrNoBucket
	case opts.Region == "":
		return nil, ErrNoRegion
	case opts.HTTPClient == nil:
		return nil, ErrNoHTTPClient
	case dottedAccelerated(opts):
		return nil, &blob.Error{Code: blob.InvalidBucketName, Op: "open", Err: ErrAccelerateDottedName}
	}
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	// A copy of the caller's client that never follows redirects: S3 does
	// not use them, and a redirect must not lead a request elsewhere.
	hc := *opts.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	creds := opts.Credentials
	if creds == nil {
		creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, ""))
	}
	o := s3.Options{
		Region:      opts.Region,
		Credentials: creds,
		HTTPClient:  &hc,
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.MaxBackoff = time.Second
			so.RateLimiter = ratelimit.None
		}),
		UsePathStyle:               opts.UsePathStyle,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, ErrBadEndpoint
		}
		o.BaseEndpoint = aws.String(opts.Endpoint)
	} else {
		o.UseAccelerate = opts.Accelerate
	}
	return &Bucket{client: s3.New(o), name: opts.Bucket, region: opts.Region}, nil
}

// List implements blob.Bucket with one ListObjectsV2 request for
// blob.ListLimit(limit) keys (S3's page holds 1,000), whose answer netguard's
// client reads under the limit for that many keys. A refused listing of a
// requester-pays bucket is RequesterPays (one more listing tells).
func (b *Bucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	limit = blob.ListLimit(limit)
	ctx = netguard.WithBodyLimit(ctx, netguard.ListingBodyBytes(limit))
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.name), MaxKeys: aws.Int32(int32(limit))}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		werr := b.wrap("list", err)
		if e := werr.(*blob.Error); e.Code == blob.AccessDenied && b.listPaying(ctx, in) {
			markRequesterPays(e)
		}
		return nil, werr
	}
	// An S3-compatible store may send more than MaxKeys: keep limit.
	contents := out.Contents[:min(len(out.Contents), limit)]
	objs := make([]blob.Object, 0, len(contents))
	for _, o := range contents {
		objs = append(objs, blob.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
	}
	return objs, nil
}

// ReadRange implements blob.Bucket with a ranged GET. An empty object reads
// as no bytes. A read refused because of the object's KMS key is
// KMSAccessDenied, with the key (a HeadObject, on the refusal only, finds
// it where the answer does not name it).
func (b *Bucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("s3blob: read %s: n must be positive, got %d", key, n)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.name),
		Key:    aws.String(key),
		Range:  aws.String(fmt.Sprintf("bytes=0-%d", n-1)),
	})
	if err != nil {
		if isInvalidRange(err) {
			// S3 answers 416 for any range of an empty object.
			return []byte{}, nil
		}
		return nil, b.explainReadRefusal(ctx, key, b.wrap("read", err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, n))
	if err != nil {
		return nil, b.wrap("read", err)
	}
	return data, nil
}

// Put implements blob.Bucket with PutVersion. A write refused because of
// the bucket's KMS key is KMSAccessDenied.
func (b *Bucket) Put(ctx context.Context, key string, data []byte) error {
	_, err := b.PutVersion(ctx, key, data)
	return err
}

// Delete implements blob.Bucket. S3 treats deleting a missing key as
// success, and so does Delete.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	return b.wrap("delete", err)
}

// PresignPut implements blob.Bucket. It does no network I/O.
func (b *Bucket) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	pc := s3.NewPresignClient(b.client, s3.WithPresignExpires(ttl))
	req, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return "", b.wrap("presign", err)
	}
	return req.URL, nil
}
