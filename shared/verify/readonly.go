package verify

import (
	"context"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// Read-only configs (access_mode "read_only"): the checks list and read,
// and the write, delete and presign checks are skipped with the reason.
// Where the driver can tell without writing (blob.WriteChecker), the write
// check's note says whether the credentials could write all the same: a
// read-only config accepts such credentials, and says so, as a note.

// The notes of the checks a read-only config skips.
const (
	msgReadOnlyWrite = "Skipped: this storage config is read-only (access_mode \"read_only\"), so bucketlink writes " +
		"nothing to the bucket."
	msgReadOnlyDelete = "Skipped: this storage config is read-only (access_mode \"read_only\"), so there is no probe " +
		"object to delete."
	msgReadOnlyPresign = "Skipped: this storage config is read-only (access_mode \"read_only\"), so bucketlink signs " +
		"no upload URL."
)

// NoSignedURLReadOnly is BucketResult.SignedURLUnavailable for a read-only
// config.
const NoSignedURLReadOnly = "No signedUrl: this storage config is read-only (access_mode \"read_only\"), so bucketlink " +
	"signs no upload URL for it."

// readOnlyLane is the write lane of a read-only config: it writes nothing,
// asks the driver whether the credentials could write at key (when it can
// tell, blob.WriteChecker), and skips the write, delete and presign checks.
func (v *Verifier) readOnlyLane(key string, b blob.Bucket) lane {
	return func(ctx context.Context) func(*run) {
		may, known := false, false
		if wc, ok := b.(blob.WriteChecker); ok {
			err := v.call(ctx, func(ctx context.Context) (err error) {
				may, err = wc.MayWrite(ctx, key)
				return err
			})
			known = err == nil
		}
		return func(r *run) {
			r.skipWrites()
			p := r.cfg.Report(r.creds)
			switch {
			case known && may:
				r.write.note += " " + p.Who + " can also write under the prefix: a read-only config does not need that, " +
					"and " + p.Perms[CheckList] + " with " + p.Perms[CheckRead] + " alone would do."
			case known:
				r.write.note += " " + p.Who + " may not write under the prefix, as a read-only config wants."
			}
		}
	}
}

// skipWrites records the write, delete and presign checks of a read-only
// config as skipped.
func (r *run) skipWrites() {
	r.write = outcome{skipped: true, note: msgReadOnlyWrite}
	r.del = outcome{skipped: true, note: msgReadOnlyDelete}
	r.presign = outcome{skipped: true, note: msgReadOnlyPresign}
}
