package verify_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const prefix = "annotations/"

// seeded are the objects under prefix in the fixture bucket, in key order.
var seeded = []string{"annotations/a.json", "annotations/b.json", "annotations/sub/c.json"}

// fixture is one bucket with seeded objects and users for each case, on
// the package's shared MinIO. Users are created on first use.
type fixture struct {
	m      *testenv.MinIO
	bucket string

	mu    sync.Mutex
	users map[string]storageconfig.Credentials
}

var (
	fixOnce sync.Once
	fix     *fixture
)

func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	m := testenv.SharedMinIO(tb)
	fixOnce.Do(func() {
		f := &fixture{m: m, bucket: testenv.BucketName(tb, "acme"), users: map[string]storageconfig.Credentials{}}
		m.CreateBucket(tb, f.bucket)
		for _, k := range append([]string{"other/outside.json"}, seeded...) {
			m.PutObject(tb, f.bucket, k, []byte(`{"key":"`+k+`"}`))
		}
		fix = f
	})
	if fix == nil {
		tb.Fatal("fixture setup failed in an earlier test")
	}
	return fix
}

// user returns the credentials of a user named role whose policy is policy
// (created on first use).
func (f *fixture) user(tb testing.TB, role, policy string) storageconfig.Credentials {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.users[role]; ok {
		return maps.Clone(c) // callers may change theirs
	}
	id, secret := testenv.NewCredentials(tb)
	f.m.AddUser(tb, id, secret, policy)
	c := storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
	f.users[role] = c
	return maps.Clone(c)
}

func (f *fixture) compatible(bucket string) *storageconfig.Config {
	return &storageconfig.Config{
		Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: bucket, KeyPrefix: prefix, Endpoint: f.m.Endpoint, UsePathStyle: true, Region: f.m.Region},
	}
}

func (f *fixture) aws(bucket, region string) *storageconfig.Config {
	return &storageconfig.Config{
		Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: bucket, KeyPrefix: prefix, Region: region},
	}
}

// verifier returns a Verifier on plain HTTP whose aws_s3 traffic goes to
// awsEndpoint.
func verifier(awsEndpoint string, deadline time.Duration) *verify.Verifier {
	return &verify.Verifier{
		Opener:   &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: awsEndpoint},
		Deadline: deadline,
	}
}

type wantCheck struct {
	ok   bool
	code string
}

var (
	allOK     = []wantCheck{{true, "ok"}, {true, "ok"}, {true, "ok"}, {true, "ok"}}
	bothLanes = func(code string) []wantCheck {
		return []wantCheck{{false, code}, {false, "skipped"}, {false, code}, {false, "skipped"}}
	}
	accessDenied = "access_denied"
)

func TestVerify(t *testing.T) {
	f := getFixture(t)
	b := f.bucket
	objRes := "arn:aws:s3:::" + b + "/" + prefix + "*"
	tests := []struct {
		name     string
		cfg      func() *storageconfig.Config
		creds    func(t *testing.T) storageconfig.Credentials
		checks   []wantCheck
		errors   errcode.FieldErrors // exact, except messages ending in "…" which are prefixes
		sample   []string
		verified bool
	}{
		{
			name:     "all good",
			cfg:      func() *storageconfig.Config { return f.compatible(b) },
			creds:    func(t *testing.T) storageconfig.Credentials { return f.user(t, "good", testenv.ReadWritePolicy(b)) },
			checks:   allOK,
			sample:   seeded,
			verified: true,
		},
		{
			name:     "all good, aws_s3",
			cfg:      func() *storageconfig.Config { return f.aws(b, "us-east-1") },
			creds:    func(t *testing.T) storageconfig.Credentials { return f.user(t, "good", testenv.ReadWritePolicy(b)) },
			checks:   allOK,
			sample:   seeded,
			verified: true,
		},
		{
			name: "list only",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				return f.user(t, "list-only", testenv.PolicyFor(b))
			},
			checks: []wantCheck{{true, "ok"}, {false, accessDenied}, {false, accessDenied}, {false, "skipped"}},
			errors: errcode.FieldErrors{"s3_access_key_id": {
				"These credentials can list the bucket but are not allowed s3:GetObject on " + objRes + ". Grant it in the IAM or bucket policy.",
				"These credentials can list the bucket but are not allowed s3:PutObject on " + objRes + ". Grant it in the IAM or bucket policy.",
			}},
			sample: seeded,
		},
		{
			name: "read only",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				return f.user(t, "read-only", testenv.PolicyFor(b, "s3:GetObject"))
			},
			checks: []wantCheck{{true, "ok"}, {true, "ok"}, {false, accessDenied}, {false, "skipped"}},
			errors: errcode.FieldErrors{"s3_access_key_id": {
				"These credentials can list the bucket but are not allowed s3:PutObject on " + objRes + ". Grant it in the IAM or bucket policy.",
			}},
			sample: seeded,
		},
		{
			name: "write but not delete",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				return f.user(t, "no-delete", testenv.PolicyFor(b, "s3:GetObject", "s3:PutObject"))
			},
			checks: []wantCheck{{true, "ok"}, {true, "ok"}, {true, "ok"}, {false, accessDenied}},
			errors: errcode.FieldErrors{"s3_access_key_id": {
				"These credentials can write to the bucket but are not allowed s3:DeleteObject on " + objRes +
					". Grant it in the IAM or bucket policy. The probe object \"" + prefix + ".bucketlink-verify-…",
			}},
			sample: seeded,
		},
		{
			name: "no permissions",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				c := f.user(t, "detached", testenv.PolicyFor(b))
				f.m.DetachUserPolicy(t, c["access_key_id"])
				return c
			},
			checks: bothLanes(accessDenied),
			// The write lane fails for the same reason as the list; only
			// the bucket is reported, as for a missing bucket.
			errors: errcode.FieldErrors{"s3_bucket_name": {"Bucket not found or access denied."}},
		},
		{
			name: "wrong secret",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				c := f.user(t, "good", testenv.ReadWritePolicy(b))
				_, c["secret_access_key"] = testenv.NewCredentials(t)
				return c
			},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"s3_secret_access_key": {"The secret access key does not match the access key ID."}},
		},
		{
			name: "unknown key",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				id, secret := testenv.NewCredentials(t)
				return storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
			},
			checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"s3_access_key_id": {"The access key ID was not recognised by the storage provider."}},
		},
		{
			name:   "missing bucket",
			cfg:    func() *storageconfig.Config { return f.compatible(testenv.BucketName(t, "missing")) },
			creds:  func(t *testing.T) storageconfig.Credentials { return f.user(t, "full", testenv.FullAccessPolicy) },
			checks: bothLanes("bucket_not_found"),
			errors: errcode.FieldErrors{"s3_bucket_name": {"Bucket not found or access denied."}},
		},
		{
			name:   "wrong region, aws_s3",
			cfg:    func() *storageconfig.Config { return f.aws(b, "eu-west-1") },
			creds:  func(t *testing.T) storageconfig.Credentials { return f.user(t, "good", testenv.ReadWritePolicy(b)) },
			checks: bothLanes("wrong_region"),
			errors: errcode.FieldErrors{"s3_bucket_region": {"The bucket is in region us-east-1; set s3_bucket_region to us-east-1."}},
		},
		{
			name: "missing secret",
			cfg:  func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				return storageconfig.Credentials{"access_key_id": f.user(t, "good", testenv.ReadWritePolicy(b))["access_key_id"]}
			},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"s3_secret_access_key": {"A secret access key is required."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := tt.creds(t)
			res := verifier(f.m.Endpoint, 0).Verify(t.Context(), tt.cfg(), creds)
			assertChecks(t, res, tt.checks)
			assertErrors(t, res, tt.errors)
			assertNoSecret(t, res, creds)
			if res.Verified() != tt.verified {
				t.Errorf("Verified() = %v, want %v", res.Verified(), tt.verified)
			}
			var keys []string
			for _, o := range res.Sample {
				keys = append(keys, o.Key)
			}
			if !slices.Equal(keys, tt.sample) {
				t.Errorf("Sample = %v, want %v", keys, tt.sample)
			}
		})
	}
}

// TestVerifyProbeCleanup proves the probe is really removed, and really
// left (under the key the message names) when delete is not allowed.
func TestVerifyProbeCleanup(t *testing.T) {
	f := getFixture(t)
	bucket := testenv.BucketName(t, "probe")
	f.m.CreateBucket(t, bucket)
	probes := func() []string {
		var out []string
		for _, k := range f.m.ListKeys(t, bucket, "") {
			if strings.Contains(k, verify.ProbeMarker) {
				out = append(out, k)
			}
		}
		return out
	}
	good := f.user(t, "probe-good", testenv.ReadWritePolicy(bucket))
	res := verifier("", 0).Verify(t.Context(), f.compatible(bucket), good)
	if !res.Verified() || len(probes()) != 0 {
		t.Fatalf("after a good run: verified %v, probes left %v", res.Verified(), probes())
	}
	if res.Checks[1].Code != "skipped" || !res.Checks[1].OK {
		t.Errorf("read check on an empty prefix = %+v, want ok and skipped", res.Checks[1])
	}
	noDelete := f.user(t, "probe-no-delete", testenv.PolicyFor(bucket, "s3:PutObject"))
	res = verifier("", 0).Verify(t.Context(), f.compatible(bucket), noDelete)
	left := probes()
	if len(left) != 1 {
		t.Fatalf("after a run without delete permission, probes = %v, want one", left)
	}
	msg := strings.Join(res.Errors["s3_access_key_id"], " ")
	if !strings.Contains(msg, `"`+left[0]+`"`) || !strings.Contains(res.Checks[3].Message, left[0]) {
		t.Errorf("delete failure does not name the leftover %q: %q / %q", left[0], msg, res.Checks[3].Message)
	}
}

// TestVerifyUnreachable proves a hanging endpoint and a refused port give
// the same code, field and message, and that Verify keeps its deadline.
func TestVerifyUnreachable(t *testing.T) {
	f := getFixture(t)
	creds := f.user(t, "good", testenv.ReadWritePolicy(f.bucket))
	const deadline = 2 * time.Second
	hanging, refused := testenv.HangingServer(t), testenv.RefusedEndpoint(t)
	tests := []struct {
		name     string
		provider storageconfig.Provider
		endpoint string
		field    string
	}{
		{name: "hanging, s3_compatible", provider: s3.NameCompatible, endpoint: hanging, field: "s3_endpoint_url"},
		{name: "refused, s3_compatible", provider: s3.NameCompatible, endpoint: refused, field: "s3_endpoint_url"},
		{name: "hanging, aws_s3", provider: s3.NameAWS, endpoint: hanging, field: "non_field_errors"},
		{name: "refused, aws_s3", provider: s3.NameAWS, endpoint: refused, field: "non_field_errors"},
	}
	want := errcode.FieldErrors{}
	msgs := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.aws(f.bucket, "us-east-1")
			v := verifier(tt.endpoint, deadline)
			if tt.provider == s3.NameCompatible {
				cfg = f.compatible(f.bucket)
				cfg.Settings.(*s3.Settings).Endpoint = tt.endpoint
			}
			start := time.Now()
			res := v.Verify(t.Context(), cfg, creds)
			if elapsed := time.Since(start); elapsed > deadline+time.Second {
				t.Errorf("Verify took %s, want at most %s", elapsed, deadline+time.Second)
			}
			assertChecks(t, res, bothLanes("endpoint_unreachable"))
			clear(want)
			want[tt.field] = []string{"The storage endpoint could not be reached or did not answer within 2s."}
			assertErrors(t, res, want)
			msgs[res.Checks[0].Message+"|"+res.Checks[2].Message] = true
		})
	}
	if len(msgs) != 1 {
		t.Errorf("check messages differ between hanging and refused endpoints: %v", msgs)
	}
}

// TestVerifyTransport covers TLS and blocked-address failures, and a
// provider error code, on test servers.
func TestVerifyTransport(t *testing.T) {
	f := getFixture(t)
	creds := f.user(t, "good", testenv.ReadWritePolicy(f.bucket))
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>OperationAborted</Code><Message>secret detail `+creds["secret_access_key"]+`</Message></Error>`)
	}))
	t.Cleanup(internal.Close)
	blocking := &http.Client{Transport: &http.Transport{
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) { return nil, &blockedErr{addr: addr} },
	}}
	tests := []struct {
		name     string
		endpoint string
		client   *http.Client
		code     string
		errors   errcode.FieldErrors
	}{
		{
			name: "untrusted certificate", endpoint: tlsServer.URL, client: &http.Client{}, code: "tls_error",
			errors: errcode.FieldErrors{"s3_endpoint_url": {"A secure (TLS) connection to the storage endpoint failed: its certificate is not trusted or the handshake failed."}},
		},
		{
			name: "blocked address", endpoint: "http://10.1.2.3:9000", client: blocking, code: "endpoint_blocked",
			errors: errcode.FieldErrors{"s3_endpoint_url": {"The storage endpoint resolves to an address that bucketlink is not allowed to connect to."}},
		},
		{
			name: "provider error", endpoint: internal.URL, client: &http.Client{}, code: "provider_error",
			errors: errcode.FieldErrors{"non_field_errors": {
				"The storage provider answered the list check with error OperationAborted.",
				"The storage provider answered the write check with error OperationAborted.",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.compatible(f.bucket)
			cfg.Settings.(*s3.Settings).Endpoint = tt.endpoint
			v := &verify.Verifier{Opener: &s3open.Opener{HTTPClient: tt.client}, Deadline: 5 * time.Second}
			res := v.Verify(t.Context(), cfg, creds)
			assertChecks(t, res, bothLanes(tt.code))
			assertErrors(t, res, tt.errors)
			assertNoSecret(t, res, creds)
		})
	}
}

type blockedErr struct{ addr string }

func (e *blockedErr) Error() string          { return "netguard: blocked " + e.addr }
func (e *blockedErr) BlockedAddress() string { return e.addr }

// TestVerifyStuckDriver proves Verify keeps its deadline even when a
// driver does not honour its context.
func TestVerifyStuckDriver(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	v := &verify.Verifier{Opener: stuckOpener{release}, Deadline: 300 * time.Millisecond}
	start := time.Now()
	res := v.Verify(t.Context(), &storageconfig.Config{Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: "b"}},
		storageconfig.Credentials{"access_key_id": "id", "secret_access_key": "secret"})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Verify with a stuck driver took %s", elapsed)
	}
	assertChecks(t, res, bothLanes("endpoint_unreachable"))
}

func assertChecks(t *testing.T, res verify.Result, want []wantCheck) {
	t.Helper()
	names := []string{"list", "read", "write", "delete"}
	if len(res.Checks) != 4 {
		t.Fatalf("Checks = %+v, want 4", res.Checks)
	}
	for i, c := range res.Checks {
		if c.Name != names[i] || c.OK != want[i].ok || c.Code != want[i].code || c.Message == "" {
			t.Errorf("check %d = %+v, want name %s ok %v code %s and a message", i, c, names[i], want[i].ok, want[i].code)
		}
	}
}

// assertErrors compares field errors; a wanted message ending in "…" only
// has to be a prefix.
func assertErrors(t *testing.T, res verify.Result, want errcode.FieldErrors) {
	t.Helper()
	if len(res.Errors) != len(want) {
		t.Fatalf("Errors = %v, want %v", res.Errors, want)
	}
	for field, msgs := range want {
		got := res.Errors[field]
		if len(got) != len(msgs) {
			t.Fatalf("Errors[%s] = %q, want %q", field, got, msgs)
		}
		for i, m := range msgs {
			if p, ok := strings.CutSuffix(m, "…"); ok && strings.HasPrefix(got[i], p) {
				continue
			}
			if got[i] != m {
				t.Errorf("Errors[%s][%d] = %q, want %q", field, i, got[i], m)
			}
		}
	}
}

func assertNoSecret(t *testing.T, res verify.Result, c storageconfig.Credentials) {
	t.Helper()
	all := fmt.Sprintf("%+v %v", res.Checks, res.Errors)
	for _, s := range c.Secrets() {
		if strings.Contains(all, s) {
			t.Errorf("the result contains the secret key: %s", all)
		}
	}
}

// stuckOpener opens buckets whose calls ignore their context and block
// until release is closed.
type stuckOpener struct{ release chan struct{} }

func (o stuckOpener) Open(context.Context, *storageconfig.Config, storageconfig.Credentials) (blob.Bucket, error) {
	return stuckBucket(o), nil
}

type stuckBucket struct{ release chan struct{} }

func (b stuckBucket) List(context.Context, string, int) ([]blob.Object, error) {
	<-b.release
	return nil, nil
}

func (b stuckBucket) ReadRange(context.Context, string, int64) ([]byte, error) {
	<-b.release
	return nil, nil
}

func (b stuckBucket) Put(context.Context, string, []byte) error {
	<-b.release
	return nil
}

func (b stuckBucket) Delete(context.Context, string) error {
	<-b.release
	return nil
}

func (b stuckBucket) PresignPut(context.Context, string, time.Duration) (string, error) {
	<-b.release
	return "", nil
}
