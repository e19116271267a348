package verify

// The cors lane of Verify and VerifyBucket: when app origins are known
// (the config's cors_origins, or the operator's), the browser's
// preflights from each of them (corscheck) run beside the other lanes:
//
//	cors    sign a PUT URL (no I/O), then the preflights of every origin
//	        and the rules read, concurrently: one round trip (two when a
//	        silent refusal is refined without the rules)
//
// so the check does not lengthen the critical path (list → read, write →
// delete: two round trips). Its outcome (Result.CORS) never changes
// Verified: a CORS problem is a warning.

import (
	"context"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// CheckCORS names the CORS check, whose outcome BucketResult.CORS holds.
const CheckCORS = "cors"

// corsOrigins are the app origins the CORS check of c is run from: the
// config's own (its cors_origins, even none) or else the operator's
// (Verifier.AppOrigins); none when the Verifier has no checker, and none
// for a read_only config, from which no browser uploads.
func (v *Verifier) corsOrigins(c *storageconfig.Config) []string {
	if v.CORS == nil || c.ReadOnly() {
		return nil
	}
	return c.AppOrigins(v.AppOrigins)
}

// withCORS adds the cors lane to lanes when c has app origins: a PUT of
// key is signed and preflighted from each.
func (v *Verifier) withCORS(lanes []lane, c *storageconfig.Config, key string, b blob.Bucket) []lane {
	if origins := v.corsOrigins(c); len(origins) > 0 {
		lanes = append(lanes, v.corsLane(c, key, b, origins))
	}
	return lanes
}

// corsLane signs a PUT of key, as the signed URL a browser is handed, and
// checks it from origins.
func (v *Verifier) corsLane(c *storageconfig.Config, key string, b blob.Bucket, origins []string) lane {
	return func(ctx context.Context) func(*run) {
		var u string
		err := v.call(ctx, func(ctx context.Context) (err error) {
			u, err = b.PresignPut(ctx, key, SignedURLTTL)
			return err
		})
		var rep corscheck.Report
		if err != nil {
			rep = corscheck.NotRun(origins, "No URL to preflight: the upload URL could not be signed ("+string(blob.CodeOf(err))+").")
		} else {
			rep = v.CORS.Check(ctx, corscheck.TargetOf(b, corsBucket(c), u), origins)
		}
		return func(r *run) { r.cors = &rep }
	}
}

// corsBucket names c's bucket for the commands of a CORS fix.
func corsBucket(c *storageconfig.Config) corscheck.Bucket {
	rep := c.Report(nil)
	return corscheck.Bucket{Provider: corscheck.Provider(c.Provider), Name: c.Bucket(), Account: rep.Account, Endpoint: rep.EndpointURL}
}
