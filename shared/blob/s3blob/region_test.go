package s3blob_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
)

func TestFindRegionOnMinIO(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := testenv.BucketName(t, "region")
	m.CreateBucket(t, bucket)
	tests := []struct {
		name   string
		policy string
	}{
		{name: "may list", policy: testenv.ReadWritePolicy(bucket)},
		// HeadBucket needs s3:ListBucket; the region comes with the 403.
		{name: "may not list", policy: testenv.PolicyFor("some-other-bucket", "s3:GetObject")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret := testenv.NewCredentials(t)
			m.AddUser(t, id, secret, tt.policy)
			got, err := s3blob.FindRegion(t.Context(), s3blob.Options{
				Bucket: bucket, Region: "eu-west-1", AccessKeyID: id, SecretAccessKey: secret,
				Endpoint: m.Endpoint, UsePathStyle: true, HTTPClient: &http.Client{},
			})
			if err != nil || got != m.Region {
				t.Fatalf("FindRegion = %q, %v; want %q", got, err, m.Region)
			}
		})
	}
	t.Run("missing bucket", func(t *testing.T) {
		id, secret := testenv.NewCredentials(t)
		m.AddUser(t, id, secret, testenv.FullAccessPolicy)
		got, err := s3blob.FindRegion(t.Context(), s3blob.Options{
			Bucket: testenv.BucketName(t, "missing"), AccessKeyID: id, SecretAccessKey: secret,
			Endpoint: m.Endpoint, UsePathStyle: true, HTTPClient: &http.Client{},
		})
		if blob.CodeOf(err) != blob.NotFound {
			t.Fatalf("FindRegion = %q, %v; want NotFound", got, err)
		}
	})
}

// TestDottedBucketName: on AWS, a dotted name is addressed path-style, so
// that TLS sees s3.<region>.amazonaws.com, which the certificate covers;
// Transfer Acceleration has no path style and is refused without I/O.
func TestDottedBucketName(t *testing.T) {
	var got []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		return nil, errors.New("no network in this test")
	})}
	opts := s3blob.Options{Bucket: "logs.example.com", Region: "eu-west-1", AccessKeyID: "AKID", SecretAccessKey: "s", HTTPClient: hc, MaxAttempts: 1}
	b, err := s3blob.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	_, _ = b.List(t.Context(), "", 1)
	if _, err := s3blob.FindRegion(t.Context(), opts); err == nil {
		t.Fatal("FindRegion without a network succeeded")
	}
	want := "https://s3.eu-west-1.amazonaws.com/logs.example.com"
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("requests went to %q; want %s twice", got, want)
	}

	got = nil
	opts.Accelerate = true
	_, err = s3blob.New(opts)
	if blob.CodeOf(err) != blob.InvalidBucketName || !errors.Is(err, s3blob.ErrAccelerateDottedName) {
		t.Fatalf("New with acceleration = %v; want InvalidBucketName, ErrAccelerateDottedName", err)
	}
	// FindRegion never accelerates.
	_, _ = s3blob.FindRegion(t.Context(), opts)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("FindRegion with acceleration went to %q", got)
	}
}
