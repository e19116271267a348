package verifyworker

import (
	"context"
	"log/slog"
	"time"

	"github.com/bucketlink/bucketlink/shared/verification"
)

// releaseSlot gives back the org's slot of rec, just written final, so
// that the org may start another verification at once. A failure is only
// logged: the slot stops counting at the record's deadline anyway.
func (w *Worker) releaseSlot(ctx context.Context, log *slog.Logger, rec *verification.Record) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.Store.ReleaseVerificationSlot(rctx, rec.OrgID, rec.Key); err != nil {
		log.Warn("verifyworker: release the org's verification slot", slog.String("error", err.Error()))
	}
}
