package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
	"github.com/bucketlink/bucketlink/shared/verification"
)

func TestVerificationConformance(t *testing.T) {
	storetest.RunVerifications(t, func(t *testing.T) store.Verifications {
		return open(t, filepath.Join(t.TempDir(), "bucketlink.db"))
	}, storetest.SweepDeletes)
}

// TestVerificationErasesSealed checks that the sealed credentials of a
// record are gone from the database files once it reaches a final state
// (while the store is still open), and those of a record that never
// finished once it is swept; as a control, the live bytes must be found.
func TestVerificationErasesSealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bucketlink.db")
	s := open(t, path)
	defer closeStore(t, s)

	// Neighbours keep the page in use, so the row changes inside a live page.
	finished, abandoned := storetest.NewVerification(1), storetest.NewVerification(1)
	finished.Sealed, abandoned.Sealed = randomMarker(t), randomMarker(t)
	abandoned.ExpiresAt = time.Now().Add(time.Second).UTC()
	for _, r := range []*verification.Record{storetest.NewVerification(1), finished, abandoned, storetest.NewVerification(1)} {
		if err := s.CreateVerification(ctx, r); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	if countInFiles(t, path, finished.Sealed) == 0 || countInFiles(t, path, abandoned.Sealed) == 0 {
		t.Fatal("control: the live sealed bytes are not in the database files; the scan proves nothing")
	}

	marker := finished.Sealed
	if err := finished.AcquireLease("w1", time.Now(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateVerification(ctx, finished); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := finished.Fail(time.Now(), "nope", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateVerification(ctx, finished); err != nil {
		t.Fatalf("update: %v", err)
	}
	if n := countInFiles(t, path, marker); n != 0 {
		t.Errorf("the sealed bytes of a failed verification appear %d times in the database files", n)
	}

	time.Sleep(time.Until(abandoned.ExpiresAt))
	n, err := s.SweepVerifications(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1 deleted", n, err)
	}
	if n := countInFiles(t, path, abandoned.Sealed); n != 0 {
		t.Errorf("the sealed bytes of a swept verification appear %d times in the database files", n)
	}
}

func TestSlotConformance(t *testing.T) {
	storetest.RunSlots(t, func(t *testing.T) store.VerificationSlots {
		return open(t, filepath.Join(t.TempDir(), "bucketlink.db"))
	})
}
