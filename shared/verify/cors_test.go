package verify_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/verify"
)

const appOrigin = "https://app.example.com"

// TestVerifyBucketCORS runs VerifyBucket with app origins on each
// provider's server: MinIO and fake-gcs-server answer preflights from a
// server-wide setting that admits every origin, so the check passes; an
// Azurite account has no CORS rules unless set, so the origin is refused
// and the fix is az's command. The outcome never changes Verified, and
// without origins there is none.
func TestVerifyBucketCORS(t *testing.T) {
	targets := bucketTargets(t)
	checker := &corscheck.Checker{Client: netguard.Policy{AllowPrivate: true}.HTTPClient()}
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		t.Run(name, func(t *testing.T) {
			tg := targets[name](t)
			cfg := tg.cfg(dsPrefix)
			v := &verify.Verifier{Opener: tg.opener, Deadline: 10 * time.Second, CORS: checker, AppOrigins: []string{appOrigin}}
			res := v.VerifyBucket(t.Context(), cfg, tg.creds)
			if !res.Verified() || res.CORS == nil {
				t.Fatalf("VerifyBucket = %+v %v, CORS %+v", res.Checks, res.Errors, res.CORS)
			}
			if len(res.CORS.Origins) != 1 || res.CORS.Origins[0].Origin != appOrigin {
				t.Fatalf("CORS origins = %+v", res.CORS.Origins)
			}
			if strings.HasPrefix(name, "azure_blob") {
				if res.CORS.Code != corscheck.CodeOriginNotAllowed || res.CORS.Fix == nil ||
					!strings.HasPrefix(res.CORS.Fix.Command, "az storage cors add --services b --account-name ") {
					t.Fatalf("CORS on Azurite without rules = %+v, fix %+v", res.CORS, res.CORS.Fix)
				}
				if res.CORS.RulesRead == tg.sasOnly {
					t.Errorf("RulesRead = %v with sasOnly %v (%s)", res.CORS.RulesRead, tg.sasOnly, res.CORS.RulesNote)
				}
			} else if !res.CORS.Passed() {
				t.Fatalf("CORS = %s: %s", res.CORS.Code, res.CORS.Message)
			}
			for _, c := range res.Checks {
				if c.Name == verify.CheckCORS {
					t.Errorf("the cors outcome is in Checks: %+v", c)
				}
			}

			v.AppOrigins = nil
			if res := v.VerifyBucket(t.Context(), cfg, tg.creds); res.CORS != nil {
				t.Errorf("VerifyBucket without origins: CORS = %+v", res.CORS)
			}
		})
	}
}
