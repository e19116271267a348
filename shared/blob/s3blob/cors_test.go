package s3blob_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
)

// TestCORSOnMinIO reads a bucket's CORS rules on MinIO, which keeps none
// (GetBucketCors answers NoSuchCORSConfiguration): no rules, no error;
// credentials without s3:GetBucketCORS are AccessDenied.
func TestCORSOnMinIO(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := testenv.BucketName(t, "cors")
	m.CreateBucket(t, bucket)
	open := func(policy string) *s3blob.Bucket {
		id, secret := testenv.NewCredentials(t)
		m.AddUser(t, id, secret, policy)
		b, err := s3blob.New(s3blob.Options{Bucket: bucket, Region: m.Region, AccessKeyID: id, SecretAccessKey: secret,
			Endpoint: m.Endpoint, UsePathStyle: true, HTTPClient: &http.Client{}, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rules, err := open(testenv.FullAccessPolicy).CORS(t.Context())
	if err != nil || rules == nil || len(rules) != 0 {
		t.Fatalf("CORS = %#v, %v; want an empty slice", rules, err)
	}
	_, err = open(testenv.PolicyFor(bucket, "s3:GetObject")).CORS(t.Context())
	if blob.CodeOf(err) != blob.AccessDenied {
		t.Fatalf("CORS without s3:GetBucketCORS = %v, want AccessDenied", err)
	}
}

// TestCORSRules replays GetBucketCors's documented answer (the example of
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html:
// <CORSConfiguration><CORSRule> with AllowedOrigin, AllowedMethod,
// AllowedHeader, ExposeHeader, MaxAgeSeconds), which MinIO cannot give.
func TestCORSRules(t *testing.T) {
	b, log := replayBucket(t, func(r *http.Request) awsAnswer {
		return awsAnswer{status: http.StatusOK, header: map[string]string{"Content-Type": "application/xml"}, body: `<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <ID>app</ID>
    <AllowedOrigin>http://www.example.com</AllowedOrigin>
    <AllowedHeader>*</AllowedHeader>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
    <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
  </CORSRule>
</CORSConfiguration>`}
	})
	rules, err := b.CORS(t.Context())
	want := []blob.CORSRule{
		{AllowedOrigins: []string{"http://www.example.com"}, AllowedMethods: []string{"PUT", "POST", "DELETE"},
			AllowedHeaders: []string{"*"}, ExposedHeaders: []string{"x-amz-server-side-encryption"}, MaxAgeSeconds: 3000},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
	}
	if err != nil || !reflect.DeepEqual(rules, want) {
		t.Fatalf("CORS = %#v, %v\nwant %#v", rules, err, want)
	}
	if n := log.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
