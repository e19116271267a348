package verify_test

import (
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestReadOnly runs read-only configs with MinIO users whose policies
// allow reading only, and reading and writing.
func TestReadOnly(t *testing.T) {
	f := getFixture(t)
	b := f.bucket
	tests := []struct {
		name, user, policy string
		note               string // in the write check's message
	}{
		{name: "read-only user", user: "reader", policy: testenv.PolicyFor(b, "s3:GetObject"), note: "may not write"},
		{name: "read-write user", user: "good", policy: testenv.ReadWritePolicy(b), note: "can also write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.compatible(b)
			cfg.AccessMode = storageconfig.AccessReadOnly
			before := f.m.ListKeys(t, b, "")
			for _, verifyBucket := range []bool{false, true} {
				v := verifier(f.m.Endpoint, 0)
				var res verify.Result
				if verifyBucket {
					br := v.VerifyBucket(t.Context(), cfg, f.user(t, tt.user, tt.policy))
					res = br.Result
					if br.SignedURL != "" || br.SignedURLUnavailable != verify.NoSignedURLReadOnly {
						t.Errorf("VerifyBucket signed %q (%q); want no URL for a read-only config", br.SignedURL, br.SignedURLUnavailable)
					}
					if len(res.Checks) != 5 || res.Checks[4].Code != "skipped" || !res.Checks[4].OK {
						t.Errorf("presign check = %+v; want skipped", res.Checks)
					}
					res.Checks = res.Checks[:4]
				} else {
					res = v.Verify(t.Context(), cfg, f.user(t, tt.user, tt.policy))
				}
				assertChecks(t, res, []wantCheck{{true, "ok"}, {true, "ok"}, {true, "skipped"}, {true, "skipped"}})
				if !res.Verified() {
					t.Fatalf("not verified: %v", res.Errors)
				}
				t.Logf("checks %+v", res.Checks)
				if msg := res.Checks[2].Message; !strings.Contains(msg, "read-only") || !strings.Contains(msg, tt.note) {
					t.Errorf("write check %q; want the reason and %q", msg, tt.note)
				}
			}
			if after := f.m.ListKeys(t, b, ""); len(after) != len(before) {
				t.Errorf("a read-only verification changed the bucket: %v, then %v", before, after)
			}
		})
	}
	// The same read-only user on a read_write config fails the write.
	res := verifier(f.m.Endpoint, 0).Verify(t.Context(), f.compatible(b), f.user(t, "reader", testenv.PolicyFor(b, "s3:GetObject")))
	assertChecks(t, res, []wantCheck{{true, "ok"}, {true, "ok"}, {false, "access_denied"}, {false, "skipped"}})
}
