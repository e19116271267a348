package verify_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// benchLatency is what Toxiproxy adds to every round trip between the
// verifier and MinIO: a latency toxic on the downstream stream (MinIO's
// answers), so each request-response round trip takes it once, as one
// round trip to a far region would.
const benchLatency = 50 * time.Millisecond

// criticalPathAim is the aim for VerifyBucket with lanes: its wall
// time within 1.3 times the critical path.
const criticalPathAim = 1.3

// BenchmarkVerifyBucket measures the wall time of VerifyBucket of an
// s3_compatible config on MinIO behind Toxiproxy with benchLatency, with
// the lanes concurrent ("lanes") and one after another ("sequential"), and
// with the cors lane's preflights from one app origin besides
// ("lanes+cors"), in the same run. Every request is counted by lane (S3's
// GETs are the list lane's list and read, PUT and DELETE the write lane's,
// OPTIONS and GetBucketCors the cors lane's, sent at once; presigning
// sends nothing), and the
// critical path is the longest lane's round trips times benchLatency.
// Each sub-benchmark reports:
//
//	ms/verify     wall time of one VerifyBucket
//	rtts/verify   requests it sent, all lanes together
//	critical-ms   the critical path
//	x-critical    wall time / critical path (the aim for lanes: at most 1.3)
//
// and "sequential" also reports x-lanes, its wall time over that of
// "lanes". Run: make bench, or
//
//	go test -run '^$' -bench VerifyBucket ./shared/verify/
func BenchmarkVerifyBucket(b *testing.B) {
	f := getFixture(b)
	proxy := testenv.StartToxiproxy(b).NewProxy(b, f.m.Endpoint)
	proxy.AddLatency(b, "latency", testenv.Downstream, benchLatency)
	cfg := f.compatible(f.bucket)
	cfg.Settings.(*s3.Settings).Endpoint = proxy.URL()
	creds := f.user(b, "good", testenv.ReadWritePolicy(f.bucket))
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 16 // as netguard's transport: every lane keeps its connection
	counter := &laneCounter{base: base}
	opener := &anyblob.Opener{HTTPClient: &http.Client{Transport: counter}}

	var (
		mu      sync.Mutex
		wallFor = map[bool]time.Duration{} // by Sequential
	)
	checker := &corscheck.Checker{Client: &http.Client{Transport: counter}}
	for _, run := range []struct {
		name       string
		sequential bool
		cors       bool
	}{{"lanes", false, false}, {"sequential", true, false}, {"lanes+cors", false, true}} {
		name, sequential := run.name, run.sequential
		b.Run(name, func(b *testing.B) {
			v := &verify.Verifier{Opener: opener, Sequential: sequential}
			if run.cors {
				v.CORS, v.AppOrigins = checker, []string{"https://app.example.com"}
			}
			counter.reset()
			for b.Loop() {
				res := v.VerifyBucket(b.Context(), cfg, creds)
				if !res.Verified() {
					b.Fatalf("VerifyBucket: %+v %v", res.Checks, res.Errors)
				}
				if run.cors && (res.CORS == nil || !res.CORS.Passed()) {
					b.Fatalf("VerifyBucket: CORS %+v", res.CORS)
				}
			}
			wall := b.Elapsed() / time.Duration(b.N)
			listLane, writeLane, corsLane, other := counter.perOp(b.N)
			if other != 0 {
				b.Fatalf("%.1f requests per run of no known lane", other)
			}
			// The cors lane sends its requests (the preflights, the rules
			// read) at once: one round trip.
			critical := time.Duration(max(listLane, writeLane, min(corsLane, 1)) * float64(benchLatency))
			xCritical := float64(wall) / float64(critical)
			b.ReportMetric(float64(wall)/float64(time.Millisecond), "ms/verify")
			b.ReportMetric(listLane+writeLane+corsLane, "rtts/verify")
			b.ReportMetric(float64(critical)/float64(time.Millisecond), "critical-ms")
			b.ReportMetric(xCritical, "x-critical")
			mu.Lock()
			wallFor[sequential] = wall
			lanes, haveLanes := wallFor[false]
			mu.Unlock()
			if sequential && haveLanes {
				b.ReportMetric(float64(wall)/float64(lanes), "x-lanes")
			}
			if !sequential && xCritical > criticalPathAim {
				b.Logf("lanes took %.2f× the critical path (%s), above the aim of %.1f×", xCritical, critical, criticalPathAim)
			}
			b.Logf("%s: %s per run; round trips: list lane %.1f, write lane %.1f, presign lane 0, cors lane %.1f requests at once; critical path %s",
				name, wall.Round(time.Millisecond), listLane, writeLane, corsLane, critical)
		})
	}
}

// laneCounter counts the requests of each lane of VerifyBucket on S3:
// GETs (list, read) are the list lane's, PUTs and DELETEs (the probe) the
// write lane's, OPTIONS (the preflights) and GET ?cors (the rules) the
// cors lane's. Presigning sends none.
type laneCounter struct {
	base                         http.RoundTripper
	listLane, write, cors, other atomic.Int64
}

func (c *laneCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodOptions || (req.Method == http.MethodGet && req.URL.Query().Has("cors")):
		c.cors.Add(1) // the preflights and GetBucketCors
		return c.base.RoundTrip(req)
	}
	switch req.Method {
	case http.MethodGet:
		c.listLane.Add(1)
	case http.MethodPut, http.MethodDelete:
		c.write.Add(1)
	default:
		c.other.Add(1)
	}
	return c.base.RoundTrip(req)
}

func (c *laneCounter) reset() {
	c.listLane.Store(0)
	c.write.Store(0)
	c.cors.Store(0)
	c.other.Store(0)
}

// perOp returns the requests per run of each lane over n runs.
func (c *laneCounter) perOp(n int) (listLane, writeLane, corsLane, other float64) {
	if n == 0 {
		panic(fmt.Sprintf("laneCounter.perOp(%d)", n))
	}
	per := func(v *atomic.Int64) float64 { return float64(v.Load()) / float64(n) }
	return per(&c.listLane), per(&c.write), per(&c.cors), per(&c.other)
}
