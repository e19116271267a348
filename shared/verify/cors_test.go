package verify_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
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

// TestCORSOriginsOfTheConfig runs Verify and VerifyBucket on Azurite
// (whose account has no CORS rules, so every origin is refused) with the
// operator's origin and a config's own cors_origins: the config's replace
// the operator's, in the report and in the fix; an empty list runs no
// check; a read_only config runs none either.
func TestCORSOriginsOfTheConfig(t *testing.T) {
	tg := azureTarget(t, false)
	checker := &corscheck.Checker{Client: netguard.Policy{AllowPrivate: true}.HTTPClient()}
	v := &verify.Verifier{Opener: tg.opener, Deadline: 10 * time.Second, CORS: checker, AppOrigins: []string{appOrigin}}
	const own = "https://own.example"
	runs := map[string]func(cfg *storageconfig.Config) verify.Result{
		"Verify": func(cfg *storageconfig.Config) verify.Result { return v.Verify(t.Context(), cfg, tg.creds) },
		"VerifyBucket": func(cfg *storageconfig.Config) verify.Result {
			return v.VerifyBucket(t.Context(), cfg, tg.creds).Result
		},
	}
	for _, name := range slices.Sorted(maps.Keys(runs)) {
		run := runs[name]
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				name string
				own  []string
				mode storageconfig.AccessMode
				want string // the one origin checked; "" for no check
			}{
				{"the operator's", nil, "", appOrigin},
				{"the config's", []string{own}, "", own},
				{"none", []string{}, "", ""},
				{"read only", []string{own}, storageconfig.AccessReadOnly, ""},
			} {
				cfg := tg.cfg(dsPrefix)
				cfg.CORSOrigins, cfg.AccessMode = tt.own, tt.mode
				res := run(cfg)
				if !res.Verified() {
					t.Fatalf("%s: %+v %v", tt.name, res.Checks, res.Errors)
				}
				if tt.want == "" {
					if res.CORS != nil {
						t.Errorf("%s: CORS = %+v, want no check", tt.name, res.CORS)
					}
					continue
				}
				if res.CORS == nil || len(res.CORS.Origins) != 1 || res.CORS.Origins[0].Origin != tt.want {
					t.Fatalf("%s: CORS = %+v, want one origin %s", tt.name, res.CORS, tt.want)
				}
				if res.CORS.Code != corscheck.CodeOriginNotAllowed || res.CORS.Fix == nil || !strings.Contains(res.CORS.Fix.Command, tt.want) {
					t.Errorf("%s: CORS %s, fix %+v; want the origin refused and a fix that allows %s", tt.name, res.CORS.Code, res.CORS.Fix, tt.want)
				}
			}
		})
	}
}
