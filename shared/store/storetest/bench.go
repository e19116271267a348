package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// BenchmarkList seeds 10,000 configs in one new org of s, then measures
// listing pages of 20, walking forward with After and starting over at the
// end. The caller opens s empty and closes it.
func BenchmarkList(b *testing.B, s store.Store) {
	const seeded, limit = 10_000, 20
	org := newOrg(b, s)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := make([]*storageconfig.Config, seeded)
	for i := range cs {
		c := NewConfig(org)
		c.CreatedAt = base.Add(time.Duration(i) * time.Second)
		cs[i] = c
	}
	createParallel(b, s, cs, 4)

	ctx := context.Background()
	var after *store.Position
	items := 0
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.ListConfigs(ctx, org, store.ListOptions{Limit: limit, After: after})
		if err != nil {
			b.Fatalf("list: %v", err)
		}
		if len(p.Items) == 0 {
			b.Fatal("list: empty page")
		}
		items += len(p.Items)
		after = nil
		if p.More {
			pos := store.PositionOf(p.Items[len(p.Items)-1])
			after = &pos
		}
	}
	b.ReportMetric(float64(items)/float64(b.N), "items/op")
}
