package gcsblob_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// open returns a driver for bucket at endpoint (fake-gcs-server or a test
// server) with key, unauthenticated as the emulator wants.
func open(t testing.TB, endpoint, bucket, key string) *gcsblob.Bucket {
	t.Helper()
	b, err := gcsblob.New(t.Context(), gcsblob.Options{
		Bucket:             bucket,
		ServiceAccountJSON: key,
		HTTPClient:         &http.Client{},
		Endpoint:           endpoint,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestConformance runs the blob suite against fake-gcs-server. The server
// checks no credentials, so the wrong-key cases (WrongSecret, UnknownKey)
// cannot be produced there and are left nil; TestTokenRejected covers the
// refused-key mappings against a local OAuth token endpoint instead. GCS
// has no regions to sign for, so WrongRegion is nil too.
func TestConformance(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	key := gcsblob.ServiceAccountJSON(t, nil)
	blobtest.Run(t, blobtest.Harness{
		Bucket: func(t *testing.T) blob.Bucket {
			name := testenv.BucketName(t, "conf")
			g.CreateBucket(t, name)
			return open(t, g.Endpoint, name, key)
		},
		MissingBucket: func(t *testing.T) blob.Bucket {
			return open(t, g.Endpoint, testenv.BucketName(t, "missing"), key)
		},
		Hanging: func(t *testing.T) blob.Bucket {
			return open(t, testenv.HangingServer(t), "hanging", key)
		},
		DeleteMissingIsNotFound: true,
	})
}

func TestNewChecksBeforeIO(t *testing.T) {
	key := gcsblob.ServiceAccountJSON(t, nil)
	// A client whose every request fails the test: New must do no I/O.
	noIO := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("New made a request to %s", r.URL.Redacted())
		return nil, errors.New("no I/O allowed")
	})}
	id, err := gcsblob.NewIdentity(gcsblob.IdentityOptions{CredentialsJSON: []byte(key), HTTPClient: noIO})
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	const sa = "data@customer-proj.iam.gserviceaccount.com"
	tests := []struct {
		name string
		opts gcsblob.Options
		want error
	}{
		{name: "key and impersonation", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ServiceAccountJSON: key, ImpersonateServiceAccount: sa, Identity: id},
			want: gcsblob.ErrBothCredentials},
		{name: "impersonation without identity", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ImpersonateServiceAccount: sa},
			want: gcsblob.ErrNoIdentity},
		{name: "not a service account e-mail", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ImpersonateServiceAccount: "a/b@x.iam.gserviceaccount.com", Identity: id},
			want: gcsblob.ErrBadServiceAccountEmail},
		{name: "impersonation", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ImpersonateServiceAccount: sa, Identity: id}},
		{name: "empty key", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO}, want: gcsblob.ErrNoServiceAccount},
		{name: "blank key", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ServiceAccountJSON: " \n"}, want: gcsblob.ErrNoServiceAccount},
		{name: "invalid key", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO,
			ServiceAccountJSON: gcsblob.ServiceAccountJSON(t, func(f map[string]any) { delete(f, "project_id") })},
			want: gcsblob.ErrInvalidServiceAccount},
		{name: "no bucket", opts: gcsblob.Options{HTTPClient: noIO, ServiceAccountJSON: key}, want: gcsblob.ErrNoBucket},
		{name: "no client", opts: gcsblob.Options{Bucket: "b", ServiceAccountJSON: key}, want: gcsblob.ErrNoHTTPClient},
		{name: "bad endpoint", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ServiceAccountJSON: key, Endpoint: "ftp://x"},
			want: gcsblob.ErrBadEndpoint},
		{name: "production", opts: gcsblob.Options{Bucket: "b", HTTPClient: noIO, ServiceAccountJSON: key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := gcsblob.New(t.Context(), tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("New's error quotes the key: %v", err)
			}
			if b != nil {
				_ = b.Close()
			}
		})
	}
}

func TestCORS(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	key := gcsblob.ServiceAccountJSON(t, nil)
	name := testenv.BucketName(t, "cors")
	g.CreateBucket(t, name)
	// fake-gcs-server stores no bucket CORS configuration, so an existing
	// bucket has none; the conversion itself is tested in TestCORSRules.
	rules, err := open(t, g.Endpoint, name, key).CORS(t.Context())
	if err != nil || len(rules) != 0 {
		t.Fatalf("CORS = %v, %v; want no rules", rules, err)
	}
	_, err = open(t, g.Endpoint, testenv.BucketName(t, "missing"), key).CORS(t.Context())
	if blob.CodeOf(err) != blob.NotFound {
		t.Fatalf("CORS of a missing bucket = %v, want NotFound", err)
	}
}

func TestPresignPutBounds(t *testing.T) {
	b := open(t, "http://127.0.0.1:1", "b", gcsblob.ServiceAccountJSON(t, nil))
	for _, ttl := range []time.Duration{0, -time.Second, gcsblob.MaxPresignTTL + time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			if _, err := b.PresignPut(t.Context(), "k", ttl); blob.CodeOf(err) == "" {
				t.Fatalf("PresignPut(%s) succeeded, want an error", ttl)
			}
		})
	}
}

// BenchmarkGCSRoundTrip measures one list + put + read + delete against
// fake-gcs-server through the driver.
func BenchmarkGCSRoundTrip(b *testing.B) {
	g := testenv.SharedFakeGCS(b)
	name := testenv.BucketName(b, "bench")
	g.CreateBucket(b, name)
	bkt := open(b, g.Endpoint, name, gcsblob.ServiceAccountJSON(b, nil))
	data := []byte("benchmark payload")
	ctx := context.Background()
	i := 0
	for b.Loop() {
		key := "bench/" + strconv.Itoa(i)
		i++
		if _, err := bkt.List(ctx, "bench/", 10); err != nil {
			b.Fatal(err)
		}
		if err := bkt.Put(ctx, key, data); err != nil {
			b.Fatal(err)
		}
		if _, err := bkt.ReadRange(ctx, key, 1024); err != nil {
			b.Fatal(err)
		}
		if err := bkt.Delete(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
