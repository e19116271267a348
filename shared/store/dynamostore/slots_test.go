package dynamostore_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/store"
)

// TestDynamoSlotRequests checks the requests the per-org bound costs: a
// start below the limit is one UpdateItem (the first of an org a PutItem
// more, creating its item), a refusal one UpdateItem (the failed
// condition returns the item: no extra read), pruning expired slots one
// more UpdateItem, and a release one UpdateItem. Never a Query or a Scan.
func TestDynamoSlotRequests(t *testing.T) {
	rec := &testenv.OpRecorder{}
	s := newStore(t, func(rt http.RoundTripper) http.RoundTripper { rec.Next = rt; return rec })
	ctx := t.Context()
	now := time.Now()
	acquire := func(key string, now time.Time, limit int) error {
		_, err := s.AcquireVerificationSlot(ctx, 7, key, now, now.Add(time.Minute), limit)
		return err
	}
	calls := []struct {
		name string
		call func() error
		want []string
	}{
		{"first of the org", func() error { return acquire("a", now, 2) }, []string{"UpdateItem", "PutItem"}},
		{"below the limit", func() error { return acquire("b", now, 2) }, []string{"UpdateItem"}},
		{"refused", func() error {
			if err := acquire("c", now, 2); !errors.Is(err, store.ErrAtCapacity) {
				t.Fatalf("acquire past the limit = %v, want ErrAtCapacity", err)
			}
			return nil
		}, []string{"UpdateItem"}},
		{"over expired slots", func() error { return acquire("c", now.Add(2*time.Minute), 2) }, []string{"UpdateItem", "UpdateItem"}},
		{"release", func() error { return s.ReleaseVerificationSlot(ctx, 7, "c") }, []string{"UpdateItem"}},
		{"count", func() error { _, err := s.CountVerificationSlots(ctx, 7, now); return err }, []string{"GetItem"}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			rec.Take()
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, op := range tt.want {
				want = append(want, "DynamoDB_20120810."+op)
			}
			if ops := rec.Take(); !slices.Equal(ops, want) {
				t.Errorf("requests: got %v, want %v", ops, want)
			}
		})
	}
}
