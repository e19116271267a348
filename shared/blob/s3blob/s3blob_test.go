package s3blob_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// flavour opens configs of one provider against the shared MinIO.
type flavour struct {
	provider storageconfig.Provider
	// opener returns the Opener to use with endpoint (MinIO or a test
	// server) standing in for the storage service.
	opener func(endpoint string) *s3open.Opener
	// config returns a config for bucket at endpoint.
	config func(endpoint, bucket, region string) *storageconfig.Config
}

var flavours = []flavour{
	{
		provider: s3.NameCompatible,
		opener:   func(string) *s3open.Opener { return &s3open.Opener{HTTPClient: &http.Client{}} },
		config: func(endpoint, bucket, region string) *storageconfig.Config {
			return &storageconfig.Config{
				Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: bucket, Region: region, Endpoint: endpoint, UsePathStyle: true},
			}
		},
	},
	{
		provider: s3.NameAWS,
		opener: func(endpoint string) *s3open.Opener {
			return &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: endpoint}
		},
		config: func(_, bucket, region string) *storageconfig.Config {
			return &storageconfig.Config{Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: bucket, Region: region}}
		},
	},
}

func TestConformance(t *testing.T) {
	m := testenv.SharedMinIO(t)
	for _, f := range flavours {
		t.Run(string(f.provider), func(t *testing.T) {
			id, secret := testenv.NewCredentials(t)
			m.AddUser(t, id, secret, testenv.FullAccessPolicy)
			open := func(t *testing.T, endpoint, bucket, region string, creds storageconfig.Credentials) blob.Bucket {
				t.Helper()
				b, err := f.opener(endpoint).Open(t.Context(), f.config(endpoint, bucket, region), creds)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return b
			}
			good := storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
			existing := func(t *testing.T) string {
				name := testenv.BucketName(t, "conf")
				m.CreateBucket(t, name)
				return name
			}
			blobtest.Run(t, blobtest.Harness{
				Bucket: func(t *testing.T) blob.Bucket {
					return open(t, m.Endpoint, existing(t), m.Region, good)
				},
				MissingBucket: func(t *testing.T) blob.Bucket {
					return open(t, m.Endpoint, testenv.BucketName(t, "missing"), m.Region, good)
				},
				WrongSecret: func(t *testing.T) blob.Bucket {
					_, wrong := testenv.NewCredentials(t)
					return open(t, m.Endpoint, existing(t), m.Region, storageconfig.Credentials{"access_key_id": id, "secret_access_key": wrong})
				},
				UnknownKey: func(t *testing.T) blob.Bucket {
					uid, usecret := testenv.NewCredentials(t)
					return open(t, m.Endpoint, existing(t), m.Region, storageconfig.Credentials{"access_key_id": uid, "secret_access_key": usecret})
				},
				WrongRegion: func(t *testing.T) (blob.Bucket, string) {
					return open(t, m.Endpoint, existing(t), "eu-west-1", good), m.Region
				},
				Hanging: func(t *testing.T) blob.Bucket {
					return open(t, testenv.HangingServer(t), "bucket", m.Region, good)
				},
			})
		})
	}
}

func TestNewRejectsBadOptionsWithoutIO(t *testing.T) {
	noIO := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request to %s", r.URL)
		return nil, errors.New("no I/O allowed")
	})}
	valid := s3blob.Options{Bucket: "b", Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "s", HTTPClient: noIO}
	tests := []struct {
		name   string
		modify func(o *s3blob.Options)
		want   error
	}{
		{name: "no access key", modify: func(o *s3blob.Options) { o.AccessKeyID = "" }, want: s3blob.ErrNoCredentials},
		{name: "no secret", modify: func(o *s3blob.Options) { o.SecretAccessKey = "" }, want: s3blob.ErrNoCredentials},
		{name: "no bucket", modify: func(o *s3blob.Options) { o.Bucket = "" }, want: s3blob.ErrNoBucket},
		{name: "no region", modify: func(o *s3blob.Options) { o.Region = "" }, want: s3blob.ErrNoRegion},
		{name: "no http client", modify: func(o *s3blob.Options) { o.HTTPClient = nil }, want: s3blob.ErrNoHTTPClient},
		{name: "relative endpoint", modify: func(o *s3blob.Options) { o.Endpoint = "minio:9000" }, want: s3blob.ErrBadEndpoint},
		{name: "ftp endpoint", modify: func(o *s3blob.Options) { o.Endpoint = "ftp://minio" }, want: s3blob.ErrBadEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.modify(&o)
			b, err := s3blob.New(o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, %v; want %v", b, err, tt.want)
			}
		})
	}
}

func TestOpenerEmptyCredentials(t *testing.T) {
	o := &s3open.Opener{HTTPClient: &http.Client{}}
	c := &storageconfig.Config{Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: "b", Region: "us-east-1"}}
	if _, err := o.Open(t.Context(), c, storageconfig.Credentials{"access_key_id": "AKID"}); !errors.Is(err, s3blob.ErrNoCredentials) {
		t.Fatalf("Open without a secret: %v, want ErrNoCredentials", err)
	}
}

func TestOpenerBadEndpointIsUnreachable(t *testing.T) {
	o := &s3open.Opener{HTTPClient: &http.Client{}}
	c := &storageconfig.Config{Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: "b"}}
	_, err := o.Open(t.Context(), c, storageconfig.Credentials{"access_key_id": "AKID", "secret_access_key": "s"})
	if blob.CodeOf(err) != blob.Unreachable {
		t.Fatalf("Open without an endpoint: %v, want code %s", err, blob.Unreachable)
	}
}

// TestTransportFailures opens buckets on endpoints that fail below HTTP.
func TestTransportFailures(t *testing.T) {
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	tests := []struct {
		name     string
		endpoint string
		want     blob.Code
		wantTLS  bool
	}{
		{name: "refused", endpoint: testenv.RefusedEndpoint(t), want: blob.Unreachable},
		{name: "unknown certificate authority", endpoint: tlsServer.URL, want: blob.Unreachable, wantTLS: true},
		{name: "dns failure", endpoint: "http://bucketlink-test.invalid", want: blob.Unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(t, tt.endpoint, "us-east-1")
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err := b.List(ctx, "", 1)
			var be *blob.Error
			if !errors.As(err, &be) || be.Code != tt.want || be.TLS != tt.wantTLS {
				t.Fatalf("List = %v; want code %s, TLS %v", err, tt.want, tt.wantTLS)
			}
		})
	}
}

// TestAWSRegionAnswers replays the answers AWS S3 documents for a bucket in
// another region (a server we cannot run here): a 301 PermanentRedirect
// from a regional endpoint, and a 400 AuthorizationHeaderMalformed.
func TestAWSRegionAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		body   string
	}{
		{
			name: "permanent redirect", status: http.StatusMovedPermanently, header: "us-west-2",
			body: `<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Endpoint>b.s3-us-west-2.amazonaws.com</Endpoint><Bucket>b</Bucket></Error>`,
		},
		{
			name: "authorization header malformed", status: http.StatusBadRequest,
			body: `<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-west-2'</Message><Region>us-west-2</Region></Error>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("X-Amz-Bucket-Region", tt.header)
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + tt.body))
			}))
			t.Cleanup(srv.Close)
			b := newBucket(t, srv.URL, "eu-west-1")
			_, err := b.List(t.Context(), "", 1)
			var be *blob.Error
			if !errors.As(err, &be) || be.Code != blob.WrongRegion || be.Region != "us-west-2" {
				t.Fatalf("List = %v; want WrongRegion us-west-2", err)
			}
		})
	}
}

// TestRedirectNotFollowed proves a Location header does not lead requests
// (and signed credentials) elsewhere.
func TestRedirectNotFollowed(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("redirect was followed")
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	b := newBucket(t, srv.URL, "us-east-1")
	if _, err := b.List(t.Context(), "", 1); err == nil || !strings.Contains(err.Error(), "307") {
		t.Fatalf("List = %v; want the 307 as an error", err)
	}
}

func newBucket(t *testing.T, endpoint, region string) *s3blob.Bucket {
	t.Helper()
	id, secret := testenv.NewCredentials(t)
	b, err := s3blob.New(s3blob.Options{
		Bucket: "bucket", Region: region, AccessKeyID: id, SecretAccessKey: secret,
		Endpoint: endpoint, UsePathStyle: true, HTTPClient: &http.Client{}, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
