package verify_test

import (
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// BenchmarkVerifyMinIO measures one full verification (list, read, write,
// delete) against MinIO on loopback.
func BenchmarkVerifyMinIO(b *testing.B) {
	f := getFixture(b)
	creds := f.user(b, "good", testenv.ReadWritePolicy(f.bucket))
	v := verifier("", 0)
	cfg := f.compatible(f.bucket)
	b.ReportAllocs()
	for b.Loop() {
		if res := v.Verify(b.Context(), cfg, creds); !res.Verified() {
			b.Fatalf("Verify: %+v", res)
		}
	}
}
