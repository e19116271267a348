package reverify_test

import (
	"context"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestReverifyHonoursReadOnly: a scheduled re-verification of a read_only
// config, whose MinIO user may only read, skips the write checks and
// stays verified; the history records the skipped checks.
func TestReverifyHonoursReadOnly(t *testing.T) {
	e := newEnv(t, eventPaths[0])
	const interval = 15 * time.Minute
	c, user, _ := e.minioConfig(interval)
	c.AccessMode = storageconfig.AccessReadOnly
	if err := e.store.UpdateConfig(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.minio.SetUserPolicy(t, user, testenv.PolicyFor(c.Settings.(*s3.Settings).BucketName, "s3:GetObject"))
	at := t0.Add(interval)
	if n := e.runAt(at); n != 1 {
		t.Fatalf("run when due: %d enqueued, want 1", n)
	}
	e.wantState(c.UID, true, 0, at.Add(interval))
	page, err := e.store.ListVerifications(context.Background(), e.org.ID, c.UID, store.HistoryOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || !page.Items[0].Verified || len(page.Items[0].Checks) != 4 {
		t.Fatalf("history: %+v", page.Items)
	}
	for _, ch := range page.Items[0].Checks[2:] {
		if !ch.OK || ch.Code != verify.CodeSkipped {
			t.Errorf("check %+v; want skipped for a read-only config", ch)
		}
	}
}
