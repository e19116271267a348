package s3blob_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
)

// awsAnswer is one answer of AWS S3, as documented, that no emulator here
// gives (MinIO has no KMS key policies and no requester-pays buckets, and
// answers Object Lock refusals in its own words). The replay servers below
// are hand-written stand-ins for AWS, for those answers only; their shapes
// come from:
//
//   - the error document: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
//     (<Error><Code>…</Code><Message>…</Message>…</Error>, and HEAD answers
//     without a body);
//   - SSE-KMS refusals: https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html
//     ("User: arn:… is not authorized to perform: kms:GenerateDataKey on
//     resource: arn:aws:kms:… because no identity-based policy allows the
//     kms:GenerateDataKey action"), KMS's refusal to decrypt ("The
//     ciphertext refers to a customer master key that does not exist, does
//     not exist in this region, or you are not allowed to access."), and
//     the x-amz-server-side-encryption(-aws-kms-key-id) headers of
//     HeadObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html;
//   - requester pays: https://docs.aws.amazon.com/AmazonS3/latest/userguide/RequesterPaysBuckets.html
//     and https://docs.aws.amazon.com/AmazonS3/latest/userguide/ObjectsinRequesterPaysBuckets.html
//     (403 Access Denied without x-amz-request-payer: requester);
//   - Object Lock: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
//     (403 "Access Denied because object protected by object lock." to a
//     DELETE of a kept version; x-amz-object-lock-mode and
//     x-amz-object-lock-retain-until-date on HeadObject) and PutObject's
//     Content-MD5 rule: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html;
//   - HeadBucket's x-amz-bucket-region: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html.
type awsAnswer struct {
	status int
	header map[string]string
	code   string // the error document's Code; none when ""
	msg    string
	body   string // the body of a success
}

func (a awsAnswer) write(w http.ResponseWriter, r *http.Request) {
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("X-Amz-Request-Id", "REPLAY")
	if a.code == "" || r.Method == http.MethodHead {
		w.WriteHeader(a.status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(a.body))
		}
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + a.code + "</Code><Message>" + a.msg +
		"</Message><RequestId>REPLAY</RequestId><HostId>replay</HostId></Error>"))
}

var (
	accessDenied = awsAnswer{status: http.StatusForbidden, code: "AccessDenied", msg: "Access Denied"}
	ok200        = awsAnswer{status: http.StatusOK}
	emptyListing = awsAnswer{status: http.StatusOK, header: map[string]string{"Content-Type": "application/xml"},
		body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`}
)

const (
	replayKeyARN  = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	replayUserARN = "arn:aws:iam::111122223333:user/bucketlink"
)

// replayBucket returns a Bucket on a loopback server that answers each
// request with answer(r), and the requests it saw.
func replayBucket(t *testing.T, answer func(r *http.Request) awsAnswer) (*s3blob.Bucket, *requestLog) {
	t.Helper()
	log := &requestLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		answer(r).write(w, r)
	}))
	t.Cleanup(srv.Close)
	return newBucket(t, srv.URL, "eu-west-1"), log
}

type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD query"
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.RawQuery)
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

func TestKMSRefusals(t *testing.T) {
	kmsHead := awsAnswer{status: http.StatusOK, header: map[string]string{
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": replayKeyARN,
		"Content-Length":                              "5",
	}}
	tests := []struct {
		name       string
		op         string // "put" or "read"
		answer     func(r *http.Request) awsAnswer
		wantCode   blob.Code
		wantKey    string
		wantAction string
	}{
		{
			name: "write without kms:GenerateDataKey", op: "put",
			answer: func(*http.Request) awsAnswer {
				return awsAnswer{status: http.StatusForbidden, code: "AccessDenied", msg: "User: " + replayUserARN +
					" is not authorized to perform: kms:GenerateDataKey on resource: " + replayKeyARN +
					" because no identity-based policy allows the kms:GenerateDataKey action"}
			},
			wantCode: blob.KMSAccessDenied, wantKey: replayKeyARN, wantAction: blob.KMSGenerateDataKey,
		},
		{
			name: "write with a disabled key", op: "put",
			answer: func(*http.Request) awsAnswer {
				return awsAnswer{status: http.StatusBadRequest, code: "KMS.DisabledException", msg: replayKeyARN + " is disabled."}
			},
			wantCode: blob.KMSAccessDenied, wantKey: replayKeyARN, wantAction: blob.KMSGenerateDataKey,
		},
		{
			name: "read without kms:Decrypt, KMS's message", op: "read",
			answer: func(r *http.Request) awsAnswer {
				if r.Method == http.MethodHead {
					return kmsHead
				}
				return awsAnswer{status: http.StatusForbidden, code: "AccessDenied", msg: "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."}
			},
			wantCode: blob.KMSAccessDenied, wantKey: replayKeyARN, wantAction: blob.KMSDecrypt,
		},
		{
			name: "read without kms:Decrypt, named", op: "read",
			answer: func(r *http.Request) awsAnswer {
				return awsAnswer{status: http.StatusForbidden, code: "AccessDenied", msg: "User: " + replayUserARN +
					" is not authorized to perform: kms:Decrypt on resource: " + replayKeyARN +
					" because no identity-based policy allows the kms:Decrypt action"}
			},
			wantCode: blob.KMSAccessDenied, wantKey: replayKeyARN, wantAction: blob.KMSDecrypt,
		},
		{
			name: "read of an SSE-KMS object, plain Access Denied", op: "read",
			answer: func(r *http.Request) awsAnswer {
				if r.Method == http.MethodHead {
					return kmsHead
				}
				return accessDenied
			},
			wantCode: blob.KMSAccessDenied, wantKey: replayKeyARN, wantAction: blob.KMSDecrypt,
		},
		{
			name: "read not allowed at all", op: "read",
			answer:   func(*http.Request) awsAnswer { return accessDenied },
			wantCode: blob.AccessDenied,
		},
		{
			name: "write not allowed", op: "put",
			answer:   func(*http.Request) awsAnswer { return accessDenied },
			wantCode: blob.AccessDenied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := replayBucket(t, tt.answer)
			var err error
			if tt.op == "put" {
				err = b.Put(t.Context(), "probe", []byte("x"))
			} else {
				_, err = b.ReadRange(t.Context(), "data/a.json", 16)
			}
			var be *blob.Error
			if !errors.As(err, &be) || be.Code != tt.wantCode || be.KMSKey != tt.wantKey || be.KMSAction != tt.wantAction {
				t.Fatalf("%s = %v; want %s, key %q, action %q", tt.op, err, tt.wantCode, tt.wantKey, tt.wantAction)
			}
		})
	}
}

func TestRequesterPays(t *testing.T) {
	// A requester-pays bucket: everything is refused without the header.
	b, log := replayBucket(t, func(r *http.Request) awsAnswer {
		if r.Header.Get("X-Amz-Request-Payer") == "requester" {
			return emptyListing
		}
		return accessDenied
	})
	_, err := b.List(t.Context(), "data/", 10)
	var be *blob.Error
	if !errors.As(err, &be) || be.Code != blob.RequesterPays || be.RequestHeader != "x-amz-request-payer: requester" {
		t.Fatalf("List = %v; want RequesterPays naming the header", err)
	}
	if n := log.count(); n != 2 {
		t.Errorf("%d requests; want the listing and one more with the header", n)
	}
	if err := b.Put(t.Context(), "data/probe", []byte("x")); blob.CodeOf(err) != blob.RequesterPays {
		t.Errorf("Put after the listing = %v; want RequesterPays", err)
	}

	// A bucket that simply refuses: the header changes nothing.
	b, _ = replayBucket(t, func(*http.Request) awsAnswer { return accessDenied })
	if _, err := b.List(t.Context(), "data/", 10); blob.CodeOf(err) != blob.AccessDenied {
		t.Errorf("List of a refusing bucket = %v; want AccessDenied", err)
	}
}

func TestAWSObjectLockRefusal(t *testing.T) {
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	var hidden bool
	b, _ := replayBucket(t, func(r *http.Request) awsAnswer {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodDelete && q.Has("versionId"):
			return awsAnswer{status: http.StatusForbidden, code: "AccessDenied", msg: "Access Denied because object protected by object lock."}
		case r.Method == http.MethodHead && q.Get("versionId") == "v1":
			return awsAnswer{status: http.StatusOK, header: map[string]string{
				"X-Amz-Object-Lock-Mode":              "COMPLIANCE",
				"X-Amz-Object-Lock-Retain-Until-Date": until.Format(time.RFC3339),
				"X-Amz-Version-Id":                    "v1",
				"Last-Modified":                       time.Now().UTC().Format(http.TimeFormat),
			}}
		case r.Method == http.MethodDelete:
			hidden = true
			return awsAnswer{status: http.StatusNoContent, header: map[string]string{"X-Amz-Delete-Marker": "true", "X-Amz-Version-Id": "dm1"}}
		}
		t.Errorf("unexpected %s %s", r.Method, r.URL)
		return accessDenied
	})
	err := b.DeleteVersion(t.Context(), "probe", "v1")
	var be *blob.Error
	if !errors.As(err, &be) || be.Code != blob.Retained || be.Retention == nil {
		t.Fatalf("DeleteVersion = %v; want Retained", err)
	}
	want := blob.Retention{Mode: "COMPLIANCE", Until: until, Hidden: true}
	if got := *be.Retention; !got.Until.Equal(want.Until) || got.Mode != want.Mode || !got.Hidden || !hidden {
		t.Fatalf("retention = %+v, want %+v", got, want)
	}
	if !strings.Contains(err.Error(), "COMPLIANCE retention until "+until.Format(time.RFC3339)) {
		t.Errorf("message %q does not say what keeps the probe", err)
	}
}

// TestPutSendsContentMD5 replays AWS's refusal of a PutObject without
// Content-MD5 (or a checksum) to a bucket with a default retention.
func TestPutSendsContentMD5(t *testing.T) {
	b, _ := replayBucket(t, func(r *http.Request) awsAnswer {
		if r.Header.Get("Content-Md5") == "" && r.Header.Get("X-Amz-Checksum-Crc32") == "" {
			return awsAnswer{status: http.StatusBadRequest, code: "InvalidRequest",
				msg: "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"}
		}
		return awsAnswer{status: http.StatusOK, header: map[string]string{"X-Amz-Version-Id": "v1", "ETag": `"x"`}}
	})
	w, err := b.PutVersion(t.Context(), "probe", []byte("x"))
	if err != nil || w.Version != "v1" {
		t.Fatalf("PutVersion = %+v, %v; want version v1", w, err)
	}
}

func TestFindRegionAnswers(t *testing.T) {
	region := map[string]string{"X-Amz-Bucket-Region": "ap-southeast-2"}
	tests := []struct {
		name     string
		answer   awsAnswer
		want     string
		wantCode blob.Code
	}{
		{name: "allowed", answer: awsAnswer{status: http.StatusOK, header: region}, want: "ap-southeast-2"},
		{name: "other region's endpoint", answer: awsAnswer{status: http.StatusMovedPermanently, header: region}, want: "ap-southeast-2"},
		{name: "signed for another region", answer: awsAnswer{status: http.StatusBadRequest, header: region}, want: "ap-southeast-2"},
		{name: "no permission", answer: awsAnswer{status: http.StatusForbidden, header: region}, want: "ap-southeast-2"},
		{name: "missing bucket", answer: awsAnswer{status: http.StatusNotFound}, wantCode: blob.NotFound},
		{name: "refused without a region", answer: awsAnswer{status: http.StatusForbidden}, wantCode: blob.AccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var signed string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodHead || r.URL.Path != "/bucket" {
					t.Errorf("unexpected %s %s", r.Method, r.URL)
				}
				signed = r.Header.Get("Authorization")
				tt.answer.write(w, r)
			}))
			t.Cleanup(srv.Close)
			id, secret := testenv.NewCredentials(t)
			got, err := s3blob.FindRegion(t.Context(), s3blob.Options{
				Bucket: "bucket", AccessKeyID: id, SecretAccessKey: secret,
				Endpoint: srv.URL, UsePathStyle: true, HTTPClient: &http.Client{}, MaxAttempts: 1,
			})
			if got != tt.want || blob.CodeOf(err) != tt.wantCode {
				t.Fatalf("FindRegion = %q, %v; want %q, code %q", got, err, tt.want, tt.wantCode)
			}
			if !strings.Contains(signed, "/"+s3blob.DiscoverySigningRegion+"/s3/") {
				t.Errorf("HeadBucket signed as %q; want for %s", signed, s3blob.DiscoverySigningRegion)
			}
		})
	}
}
