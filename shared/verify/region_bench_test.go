package verify_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// BenchmarkVerifyAWSRegion measures the wall time of Verify and
// VerifyBucket of an aws_s3 config whose traffic goes (AWSEndpoint) to
// MinIO behind Toxiproxy with benchLatency on every round trip, with
// s3_bucket_region given ("region_given"), left out so that it is found
// ("region_found"), and given for a read-only config ("read_only", whose
// write lane only asks whether the credentials could write). Every request is sorted by what
// it is for: HeadBucket of the bucket is region discovery, which comes
// before the lanes; GETs are the list lane's, PUTs and DELETEs the write
// lane's. The critical path in round trips is discovery plus the longer
// lane. Each sub-benchmark reports:
//
//	ms/verify       wall time of one verification
//	rtts/verify     requests it sent, all lanes together
//	critical-rtts   round trips on the critical path
//	x-critical      wall time / (critical-rtts × benchLatency)
//
// and fails unless critical-rtts is 2 (3 when the region is found). Run:
//
//	go test -run '^$' -bench VerifyAWSRegion -benchtime 20x ./shared/verify/
func BenchmarkVerifyAWSRegion(b *testing.B) {
	f := getFixture(b)
	proxy := testenv.StartToxiproxy(b).NewProxy(b, f.m.Endpoint)
	proxy.AddLatency(b, "latency", testenv.Downstream, benchLatency)
	creds := f.user(b, "good", testenv.ReadWritePolicy(f.bucket))
	counter := &pathCounter{base: http.DefaultTransport.(*http.Transport).Clone(), bucketPath: "/" + f.bucket}
	v := &verify.Verifier{Opener: &s3open.Opener{HTTPClient: &http.Client{Transport: counter}, AWSEndpoint: proxy.URL()}}
	cases := []struct {
		name     string
		region   string
		mode     storageconfig.AccessMode
		wantRTTs float64
	}{
		{name: "region_given", region: f.m.Region, wantRTTs: 2},
		{name: "region_found", region: "", wantRTTs: 3},
		{name: "read_only", region: f.m.Region, mode: storageconfig.AccessReadOnly, wantRTTs: 2},
	}
	kinds := []struct {
		name   string
		verify func(c *storageconfig.Config) verify.Result
	}{
		{"verify", func(c *storageconfig.Config) verify.Result { return v.Verify(b.Context(), c, creds) }},
		{"verify_bucket", func(c *storageconfig.Config) verify.Result { return v.VerifyBucket(b.Context(), c, creds).Result }},
	}
	for _, k := range kinds {
		for _, tc := range cases {
			b.Run(k.name+"/"+tc.name, func(b *testing.B) {
				counter.reset()
				for b.Loop() {
					c := f.aws(f.bucket, tc.region)
					c.AccessMode = tc.mode
					if res := k.verify(c); !res.Verified() {
						b.Fatalf("%s: %+v %v", k.name, res.Checks, res.Errors)
					}
				}
				wall := b.Elapsed() / time.Duration(b.N)
				discovery, listLane, writeLane, other := counter.perOp(b.N)
				if other != 0 {
					b.Fatalf("%.1f requests per run of no known kind", other)
				}
				critical := discovery + max(listLane, writeLane)
				b.ReportMetric(float64(wall)/float64(time.Millisecond), "ms/verify")
				b.ReportMetric(discovery+listLane+writeLane, "rtts/verify")
				b.ReportMetric(critical, "critical-rtts")
				b.ReportMetric(float64(wall)/(critical*float64(benchLatency)), "x-critical")
				b.Logf("%s: %s per run; round trips: discovery %.1f, list lane %.1f, write lane %.1f",
					tc.name, wall.Round(time.Millisecond), discovery, listLane, writeLane)
				if critical != tc.wantRTTs {
					b.Fatalf("critical path of %.1f round trips; want %.0f", critical, tc.wantRTTs)
				}
			})
		}
	}
}

// pathCounter sorts the requests of a verification of one S3 bucket,
// addressed path-style, by what they are for.
type pathCounter struct {
	base                              http.RoundTripper
	bucketPath                        string
	discovery, listLane, write, other atomic.Int64
}

func (c *pathCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodHead && strings.TrimSuffix(req.URL.Path, "/") == c.bucketPath:
		c.discovery.Add(1)
	case req.Method == http.MethodGet:
		c.listLane.Add(1)
	case req.Method == http.MethodPut || req.Method == http.MethodDelete:
		c.write.Add(1)
	default:
		c.other.Add(1)
	}
	return c.base.RoundTrip(req)
}

func (c *pathCounter) reset() {
	for _, n := range []*atomic.Int64{&c.discovery, &c.listLane, &c.write, &c.other} {
		n.Store(0)
	}
}

// perOp returns the requests per run of each kind over n runs.
func (c *pathCounter) perOp(n int) (discovery, listLane, writeLane, other float64) {
	if n == 0 {
		panic(fmt.Sprintf("pathCounter.perOp(%d)", n))
	}
	d := float64(n)
	return float64(c.discovery.Load()) / d, float64(c.listLane.Load()) / d, float64(c.write.Load()) / d, float64(c.other.Load()) / d
}
