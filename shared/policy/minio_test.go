package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/policy"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verifier"
	"github.com/bucketlink/bucketlink/shared/verify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const prefix = "annotations/"

// proof is one bucket on the package's MinIO, with objects under prefix
// and outside it, and the verifier the API builds (verifier.New), sending
// aws_s3 traffic to that MinIO. MinIO enforces IAM-style user policies,
// with the s3:prefix condition of ListBucket.
type proof struct {
	m      *testenv.MinIO
	bucket string
	v      *verify.Verifier
}

func newProof(t *testing.T) *proof {
	t.Helper()
	m := testenv.SharedMinIO(t)
	p := &proof{m: m, bucket: testenv.BucketName(t, "policy")}
	m.CreateBucket(t, p.bucket)
	for _, k := range []string{prefix + "a.json", prefix + "sub/b.json", "other/c.json"} {
		m.PutObject(t, p.bucket, k, []byte(`{"key":"`+k+`"}`))
	}
	v, err := verifier.New(aws.Config{Region: testenv.MinIORegion}, nil,
		verifier.Options{AllowPrivate: true, AWSS3Endpoint: m.Endpoint, Deadline: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.v = v
	return p
}

func (p *proof) config(pfx string) *storageconfig.Config {
	return &storageconfig.Config{
		Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: p.bucket, KeyPrefix: pfx, Region: testenv.MinIORegion, Auth: s3.AuthAccessKey},
	}
}

// user creates a MinIO user whose only policy is doc.
func (p *proof) user(t *testing.T, doc policy.Document) storageconfig.Credentials {
	t.Helper()
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	id, secret := testenv.NewCredentials(t)
	p.m.AddUser(t, id, secret, string(js))
	return storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
}

// outcome is a check's pass/fail as the tests compare it.
type outcome struct {
	OK   bool
	Code string
}

func outcomes(checks []verification.Check) map[string]outcome {
	out := map[string]outcome{}
	for _, c := range checks {
		out[c.Name] = outcome{c.OK, c.Code}
	}
	return out
}

var ok = outcome{true, verify.CodeOK}

// TestGeneratedPolicyPassesEveryCheck: a user whose only policy is the
// generated one passes every check of both APIs (Verify for storage
// configs, VerifyBucket for bucket verify), with and without a prefix,
// and the signed URL it yields accepts the browser's PUT.
func TestGeneratedPolicyPassesEveryCheck(t *testing.T) {
	p := newProof(t)
	// MinIO has no escapes for IAM's special characters: an s3_compatible
	// prefix holding them is written as it is, and works.
	odd := "odd*name?$/"
	p.m.PutObject(t, p.bucket, odd+"d.json", []byte(`{}`))
	for _, tc := range []struct {
		provider storageconfig.Provider
		prefix   string
	}{{s3.NameAWS, prefix}, {s3.NameAWS, ""}, {s3.NameCompatible, odd}} {
		t.Run(string(tc.provider)+"/prefix="+tc.prefix, func(t *testing.T) {
			pfx := tc.prefix
			cfg := p.config(pfx)
			if tc.provider == s3.NameCompatible {
				cfg.Provider, cfg.Settings.(*s3.Settings).Endpoint, cfg.Settings.(*s3.Settings).UsePathStyle = tc.provider, p.m.Endpoint, true
			}
			target := policy.TargetOf(cfg, storageconfig.Credentials{})
			creds := p.user(t, policy.PermissionsPolicy(target))

			res := p.v.Verify(t.Context(), cfg, creds)
			if !res.Verified() {
				t.Fatalf("Verify: %+v, errors %v", res.Checks, res.Errors)
			}
			br := p.v.VerifyBucket(t.Context(), cfg, creds)
			if !br.Verified() || len(br.Checks) != 5 {
				t.Fatalf("VerifyBucket: %+v, errors %v", br.Checks, br.Errors)
			}
			if len(br.Files) == 0 {
				t.Errorf("VerifyBucket read no files under %q", pfx)
			}
			putSigned(t, br.SignedURL, br.SignedURLHeaders, http.StatusOK)
			if keys := p.m.ListKeys(t, p.bucket, pfx); slices.ContainsFunc(keys, func(k string) bool {
				return strings.Contains(k, verify.ProbeMarker)
			}) {
				t.Errorf("a probe was left behind: %v", keys)
			}
		})
	}
	t.Run("read_only", func(t *testing.T) {
		cfg := p.config(prefix)
		target := policy.TargetOf(cfg, storageconfig.Credentials{})
		target.Mode = policy.ReadOnly
		creds := p.user(t, policy.PermissionsPolicy(target))
		got := outcomes(p.v.VerifyBucket(t.Context(), cfg, creds).Checks)
		// The read-only grant serves list and read; it grants no write,
		// which the write check (run whatever the mode) proves.
		want := map[string]outcome{verify.CheckList: ok, verify.CheckRead: ok,
			verify.CheckWrite: {false, verify.CodeAccessDenied}, verify.CheckDelete: {false, verify.CodeSkipped}, verify.CheckPresign: ok}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("checks %+v, want %+v", got, want)
		}
	})
}

// putSigned PUTs a body to a presigned URL as a browser would and wants
// status.
func putSigned(t *testing.T, url string, headers map[string]string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader([]byte("from a browser")))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("PUT to the signed URL: %d, want %d", resp.StatusCode, status)
	}
}

// dependents are the checks skipped when a check fails (each lane stops at
// its first failure).
var dependents = map[string][]string{verify.CheckList: {verify.CheckRead}, verify.CheckWrite: {verify.CheckDelete}}

// TestMissingStatementFailsItsCheck removes one statement at a time from
// the generated policy: exactly the check that statement serves fails,
// with access_denied, the checks after it in its lane are skipped, every
// other check passes, and the fix of the failed check names the missing
// action and is the removed statement.
func TestMissingStatementFailsItsCheck(t *testing.T) {
	p := newProof(t)
	cfg := p.config(prefix)
	for _, mode := range []policy.AccessMode{policy.ReadWrite, policy.ReadOnly} {
		target := policy.TargetOf(cfg, storageconfig.Credentials{})
		target.Mode = mode
		full := policy.PermissionsPolicy(target)
		for i, removed := range full.Statement {
			t.Run(string(mode)+"/without "+removed.Sid, func(t *testing.T) {
				t.Parallel()
				doc := policy.Document{Version: full.Version, Statement: slices.Delete(slices.Clone(full.Statement), i, i+1)}
				creds := p.user(t, doc)
				served := servedBy(t, removed)
				want := map[string]outcome{}
				for _, c := range []string{verify.CheckList, verify.CheckRead, verify.CheckWrite, verify.CheckDelete, verify.CheckPresign} {
					want[c] = ok
				}
				if mode == policy.ReadOnly {
					// Nothing grants writes: the write lane fails on its own.
					want[verify.CheckWrite] = outcome{false, verify.CodeAccessDenied}
					want[verify.CheckDelete] = outcome{false, verify.CodeSkipped}
				}
				want[served] = outcome{false, verify.CodeAccessDenied}
				for _, d := range dependents[served] {
					want[d] = outcome{false, verify.CodeSkipped}
				}

				br := p.v.VerifyBucket(t.Context(), cfg, creds)
				if got := outcomes(br.Checks); !reflect.DeepEqual(got, want) {
					t.Fatalf("VerifyBucket checks %+v, want %+v", got, want)
				}
				res := p.v.Verify(t.Context(), cfg, creds)
				delete(want, verify.CheckPresign)
				if got := outcomes(res.Checks); !reflect.DeepEqual(got, want) {
					t.Fatalf("Verify checks %+v, want %+v", got, want)
				}
				for _, c := range append(br.Checks, res.Checks...) {
					if c.Name != served {
						if c.Fix != nil && (c.OK || c.Code == verify.CodeSkipped) {
							t.Errorf("check %s (%s) has a fix: %+v", c.Name, c.Code, c.Fix)
						}
						continue
					}
					// The fix the verifier gave the failed check.
					fix := c.Fix
					if fix == nil {
						t.Fatalf("check %s (%s) has no fix", c.Name, c.Code)
					}
					if !reflect.DeepEqual(fix.Missing, removed.Action) {
						t.Errorf("fix names %v, want the removed statement's %v", fix.Missing, removed.Action)
					}
					if !reflect.DeepEqual(fix.Statement, &removed) {
						t.Errorf("fix statement %+v, want the removed %+v", fix.Statement, removed)
					}
					// The fix restores the policy: adding its statement
					// passes the check again.
					p.m.SetUserPolicy(t, creds["access_key_id"], marshal(t, policy.Document{Version: doc.Version, Statement: append(doc.Statement, *fix.Statement)}))
					if got := outcomes(p.v.VerifyBucket(t.Context(), cfg, creds).Checks)[served]; got != ok {
						t.Errorf("with the fix's statement added, %s is %+v", served, got)
					}
				}
			})
		}
	}
}

// TestPolicyIsScopedToThePrefix: the generated policy of one prefix lets
// its user list, read, write or delete nothing under another.
func TestPolicyIsScopedToThePrefix(t *testing.T) {
	p := newProof(t)
	creds := p.user(t, policy.PermissionsPolicy(policy.TargetOf(p.config(prefix), storageconfig.Credentials{})))
	got := outcomes(p.v.VerifyBucket(t.Context(), p.config("other/"), creds).Checks)
	want := map[string]outcome{
		verify.CheckList: {false, verify.CodeAccessDenied}, verify.CheckRead: {false, verify.CodeSkipped},
		verify.CheckWrite: {false, verify.CodeAccessDenied}, verify.CheckDelete: {false, verify.CodeSkipped},
		verify.CheckPresign: ok,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checks under other/: %+v, want %+v", got, want)
	}
}

// servedBy is the check a statement of the generated policy serves.
func servedBy(t *testing.T, s policy.Statement) string {
	t.Helper()
	for _, c := range policy.Checks(policy.ReadWrite) {
		if strings.EqualFold("Bucketlink"+c, s.Sid) {
			return c
		}
	}
	t.Fatalf("statement %s serves no check", s.Sid)
	return ""
}

func marshal(t *testing.T, doc policy.Document) string {
	t.Helper()
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}
