package verify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestVersionedBucket: on a versioned bucket (MinIO), the probe is removed
// with its version id, nothing is left, and the delete check says the
// bucket is versioned.
func TestVersionedBucket(t *testing.T) {
	f := getFixture(t)
	bucket := testenv.BucketName(t, "ver")
	f.m.CreateVersionedBucket(t, bucket)
	creds := f.user(t, "versions", testenv.PolicyFor(bucket, "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"))
	res := verifier(f.m.Endpoint, 0).Verify(t.Context(), f.compatible(bucket), creds)
	assertChecks(t, res, []wantCheck{{true, "ok"}, {true, "skipped"}, {true, "ok"}, {true, verify.CodeVersioned}})
	if !res.Verified() {
		t.Fatalf("not verified: %v", res.Errors)
	}
	if !strings.Contains(res.Checks[3].Message, "versioned") {
		t.Errorf("delete check %q does not say the bucket is versioned", res.Checks[3].Message)
	}
	if v, dm := f.m.ObjectVersions(t, bucket, ""); v != 0 || dm != 0 {
		t.Errorf("%d versions and %d delete markers left; want none", v, dm)
	}
}

// TestRetainedProbe: on a bucket with a default Object Lock retention
// (MinIO), the probe cannot be deleted: a warning on the delete check,
// naming the retention, and the config verifies.
func TestRetainedProbe(t *testing.T) {
	f := getFixture(t)
	bucket := testenv.BucketName(t, "lock")
	f.m.CreateLockedBucket(t, bucket, "GOVERNANCE", 1)
	creds := f.user(t, "locked", testenv.PolicyFor(bucket, "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
		"s3:DeleteObjectVersion", "s3:GetObjectRetention"))
	res := verifier(f.m.Endpoint, 0).Verify(t.Context(), f.compatible(bucket), creds)
	t.Logf("checks %+v", res.Checks)
	assertChecks(t, res, []wantCheck{{true, "ok"}, {true, "skipped"}, {true, "ok"}, {true, verify.CodeProbeRetained}})
	if !res.Verified() {
		t.Fatalf("a retained probe failed the verification: %v", res.Errors)
	}
	if msg := res.Checks[3].Message; !strings.Contains(msg, "GOVERNANCE retention until") || !strings.Contains(msg, "delete marker") {
		t.Errorf("delete check %q does not name the retention", msg)
	}
	if keys := f.m.ListKeys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("the listing shows %v; want the kept probe hidden", keys)
	}
}

// awsStandIn is a loopback stand-in for AWS S3 (path-style, as
// AWSEndpoint sends it) replaying the documented answers of
// shared/blob/s3blob/aws_replay_test.go (which cites them): a listing of
// one object under prefix, the object, and for each case the refusal no
// emulator gives.
func awsStandIn(t *testing.T, refuse func(r *http.Request) (status int, code, msg string, header map[string]string, ok bool)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, code, msg, header, refused := refuse(r); refused {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			if code == "" || r.Method == http.MethodHead {
				w.WriteHeader(status)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg +
				`</Message><RequestId>REPLAY</RequestId></Error>`))
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><KeyCount>1</KeyCount>` +
				`<MaxKeys>11</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>` + prefix + `a.json</Key><Size>2</Size></Contents></ListBucketResult>`))
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte("{}"))
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"x"`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const (
	standInKeyARN  = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	standInUserARN = "arn:aws:iam::111122223333:user/bucketlink"
)

func TestS3Refusals(t *testing.T) {
	creds := storageconfig.Credentials{s3.CredAccessKeyID: "AKIAIOSFODNN7EXAMPLE", s3.CredSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	tests := []struct {
		name   string
		refuse func(r *http.Request) (int, string, string, map[string]string, bool)
		checks []wantCheck
		field  string
		words  []string // the field's message contains each
	}{
		{
			name: "kms write",
			refuse: func(r *http.Request) (int, string, string, map[string]string, bool) {
				return 403, "AccessDenied", "User: " + standInUserARN + " is not authorized to perform: kms:GenerateDataKey on resource: " +
					standInKeyARN + " because no identity-based policy allows the kms:GenerateDataKey action", nil, r.Method == http.MethodPut
			},
			checks: []wantCheck{{true, "ok"}, {true, "ok"}, {false, verify.CodeKMSAccessDenied}, {false, "skipped"}},
			field:  "s3_access_key_id", words: []string{standInKeyARN, "kms:GenerateDataKey", "key policy"},
		},
		{
			name: "kms read",
			refuse: func(r *http.Request) (int, string, string, map[string]string, bool) {
				object := !r.URL.Query().Has("list-type")
				switch {
				case r.Method == http.MethodHead && object:
					return 200, "", "", map[string]string{"X-Amz-Server-Side-Encryption": "aws:kms",
						"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": standInKeyARN, "Content-Length": "2"}, true
				case r.Method == http.MethodGet && object:
					return 403, "AccessDenied", "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.", nil, true
				}
				return 0, "", "", nil, false
			},
			checks: []wantCheck{{true, "ok"}, {false, verify.CodeKMSAccessDenied}, {true, "ok"}, {true, "ok"}},
			field:  "s3_access_key_id", words: []string{standInKeyARN, "kms:Decrypt"},
		},
		{
			name: "requester pays",
			refuse: func(r *http.Request) (int, string, string, map[string]string, bool) {
				return 403, "AccessDenied", "Access Denied", nil, r.Header.Get("X-Amz-Request-Payer") != "requester"
			},
			checks: []wantCheck{{false, verify.CodeRequesterPays}, {false, "skipped"}, {false, verify.CodeRequesterPays}, {false, "skipped"}},
			field:  "s3_bucket_name", words: []string{"Requester Pays", "x-amz-request-payer: requester"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := awsStandIn(t, tt.refuse)
			res := verifier(endpoint, 0).Verify(t.Context(), (&fixture{}).aws("bucket", "eu-west-1"), creds)
			t.Logf("checks %+v; errors %v", res.Checks, res.Errors)
			assertChecks(t, res, tt.checks)
			assertNoSecret(t, res, creds)
			if len(res.Errors) != 1 || len(res.Errors[tt.field]) != 1 {
				t.Fatalf("Errors = %v; want one message on %s", res.Errors, tt.field)
			}
			for _, w := range tt.words {
				if msg := res.Errors[tt.field][0]; !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestRegionDiscovered: an aws_s3 config without s3_bucket_region
// verifies, and the verifier sets the region it found in the config.
func TestRegionDiscovered(t *testing.T) {
	f := getFixture(t)
	cfg := f.aws(f.bucket, "")
	res := verifier(f.m.Endpoint, 0).Verify(t.Context(), cfg, f.user(t, "good", testenv.ReadWritePolicy(f.bucket)))
	if !res.Verified() {
		t.Fatalf("not verified: %+v %v", res.Checks, res.Errors)
	}
	if got := cfg.Settings.(*s3.Settings).Region; got != f.m.Region {
		t.Fatalf("region %q set in the config, want %q", got, f.m.Region)
	}
}
