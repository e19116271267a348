package reverify_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// throughputLatency is what Toxiproxy adds between the verifier and MinIO:
// a latency toxic on the downstream stream, so every request-response
// round trip takes it once (as shared/verify's BenchmarkVerifyBucket).
const throughputLatency = 50 * time.Millisecond

// reverifyInterval is every benchmark config's re-verification interval;
// iteration i runs the schedule at t0 + (i+1) intervals, when every config
// is due again.
const reverifyInterval = time.Hour

var (
	reverifyN = flag.Int("reverify.n", 0,
		"configs BenchmarkReverifyThroughput re-verifies (0: BUCKETLINK_BENCH_CONFIGS, else 10,000)")
	reverifyWorkers = flag.Int("reverify.workers", memqueue.DefaultWorkers,
		"memqueue workers of BenchmarkReverifyThroughput (the default is serve's --verify-workers default)")
)

// throughputConfigs is how many configs BenchmarkReverifyThroughput
// re-verifies: -reverify.n, else BUCKETLINK_BENCH_CONFIGS, else 10,000.
func throughputConfigs(b *testing.B) int {
	if *reverifyN > 0 {
		return *reverifyN
	}
	return benchConfigs(b)
}

// BenchmarkReverifyThroughput measures the worker side of re-verification
// at scale: N configs (see throughputConfigs), stored in SQLite with their
// credentials sealed by kmsseal under a KMS key on moto, all due. Each
// iteration moves the clock one interval on, runs Scheduler.RunOnce (as
// often as MaxPerRun needs) into a memqueue whose handler is
// Reverifier.Handle, and waits until the queue has drained: every config
// re-verified by the real verifier against MinIO behind Toxiproxy with
// 50 ms latency per round trip.
//
// The queue has the worker's bounded concurrency: -reverify.workers,
// memqueue.DefaultWorkers (4) by default, which is also the default of
// `bucketlink serve --verify-workers` (BUCKETLINK_VERIFY_WORKERS), whose
// pool runs re-verifications; its buffer is memqueue.DefaultBuffer, so the
// scheduler's Send blocks while the workers catch up, as in serve.
//
// All configs name one bucket and one MinIO user (each with its own
// envelope, uid and name): the cost measured is the worker's, not
// MinIO's user table. Setup (sealing, storing) is not timed. It reports:
//
//	configs/s          configs re-verified per second of wall time
//	kms-calls/verify   KMS requests (Decrypt, GenerateDataKey, retries
//	                   included) per re-verification, from kmsseal's Stats
//	decrypt/verify     the Decrypt requests among them
//	peak-heap-MB       the highest Go HeapInuse sampled (every 20 ms)
//	                   during the timed runs
//	peak-sys-MB        the highest runtime MemStats.Sys sampled (memory the
//	                   Go runtime holds from the OS)
//	peak-rss-MB        the highest VmRSS of the process sampled (Linux;
//	                   includes SQLite's non-Go memory and the setup's heap
//	                   not yet returned)
//
// A handler error, a dead letter, a status change (any published event:
// every config must stay verified) or a config not handled fails it. Run
// (10,000 configs take about 6 minutes at 4 workers, 50 s of it seeding):
//
//	go test -run '^$' -bench ReverifyThroughput -benchtime 1x ./shared/reverify/ -reverify.n 1000
//	BUCKETLINK_BENCH_CONFIGS=10000 go test -run '^$' -bench ReverifyThroughput -benchtime 1x -timeout 60m ./shared/reverify/
func BenchmarkReverifyThroughput(b *testing.B) {
	n := throughputConfigs(b)
	workers := *reverifyWorkers
	if workers < 1 {
		b.Fatalf("-reverify.workers=%d: want at least 1", workers)
	}
	ctx := context.Background()
	st := openSQLite(b)
	org := &identity.Org{Slug: "bench", Name: "bench", ExternalID: "ext", CreatedAt: t0}
	if err := st.CreateOrg(ctx, org); err != nil {
		b.Fatal(err)
	}

	m := testenv.SharedMinIO(b)
	bucket := testenv.BucketName(b, "throughput")
	m.CreateBucket(b, bucket)
	ak, sk := testenv.NewCredentials(b)
	m.AddUser(b, ak, sk, testenv.ReadWritePolicy(bucket))
	proxy := testenv.StartToxiproxy(b).NewProxy(b, m.Endpoint)
	proxy.AddLatency(b, "latency", testenv.Downstream, throughputLatency)

	moto := testenv.SharedMoto(b)
	sealer := kmsseal.New(kms.NewFromConfig(moto.AWSConfig()), moto.NewKMSKey(b))
	sealStart := time.Now()
	seedConfigs(b, st, sealer, org.ID, n, map[string]any{
		"provider": "s3_compatible", "s3_endpoint_url": proxy.URL(), "s3_bucket_name": bucket,
		"s3_access_key_id": ak, "s3_secret_access_key": sk,
		"reverify_interval_seconds": int(reverifyInterval / time.Second),
	})
	b.Logf("seeded %d configs (sealed through moto's KMS, stored in SQLite) in %v", n, time.Since(sealStart).Round(time.Millisecond))

	clk := &clock{now: t0}
	events := &eventCounter{}
	rv := &reverify.Reverifier{
		Store:  st,
		Sealer: sealer,
		Verifier: &verify.Verifier{
			Opener:   &anyblob.Opener{HTTPClient: netguard.Policy{AllowPrivate: true}.HTTPClient()},
			Deadline: 30 * time.Second,
		},
		Events: events,
		Clock:  clk.Now,
		Logger: discard,
	}

	runtime.GC() // the setup's garbage is not the worker's
	base := startMemSampler(time.Hour).stop()
	b.Logf("before the timed runs: heap in use %.1f MB, sys %.1f MB, rss %.1f MB",
		float64(base.heapInuse)/(1<<20), float64(base.sys)/(1<<20), float64(base.rss)/(1<<20))
	before := sealer.Stats()
	sampler := startMemSampler(20 * time.Millisecond)
	iterations := 0
	for b.Loop() {
		iterations++
		clk.Set(t0.Add(time.Duration(iterations) * reverifyInterval))
		reverifyAll(b, st, rv, clk, n, workers)
	}
	peak := sampler.stop()
	after := sealer.Stats()
	total := float64(n * iterations)
	if got := events.count.Load(); got != 0 {
		b.Fatalf("%d status changes published: every config should stay verified", got)
	}
	b.ReportMetric(total/b.Elapsed().Seconds(), "configs/s")
	b.ReportMetric(float64(after.Calls()-before.Calls())/total, "kms-calls/verify")
	b.ReportMetric(float64(after.Decrypt-before.Decrypt)/total, "decrypt/verify")
	b.ReportMetric(float64(peak.heapInuse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak.sys)/(1<<20), "peak-sys-MB")
	if peak.rss > 0 {
		b.ReportMetric(float64(peak.rss)/(1<<20), "peak-rss-MB")
	}
	b.Logf("%d configs × %d iterations, %d workers, %v latency: %.1f configs/s, %d KMS calls (%d Decrypt, %d GenerateDataKey)",
		n, iterations, workers, throughputLatency, total/b.Elapsed().Seconds(),
		after.Calls()-before.Calls(), after.Decrypt-before.Decrypt, after.GenerateDataKey-before.GenerateDataKey)
}

// reverifyAll runs the schedule at the clock's time into a fresh memqueue
// of workers running rv.Handle, and waits until the n due configs have
// been handled (Close drains the queue).
func reverifyAll(b *testing.B, st store.Store, rv *reverify.Reverifier, clk *clock, n, workers int) {
	b.Helper()
	var handled atomic.Int64
	var mu sync.Mutex
	var errs []error
	q, err := memqueue.New(func(ctx context.Context, m queue.Message) error {
		err := rv.Handle(ctx, m)
		handled.Add(1)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return err
	}, memqueue.Options{Workers: workers, MaxAttempts: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	sched := &reverify.Scheduler{Store: st, Sender: q, Clock: clk.Now, Logger: discard}
	enqueued := 0
	for enqueued < n {
		got, err := sched.RunOnce(context.Background())
		if err != nil {
			q.Close()
			b.Fatalf("schedule run: %v", err)
		}
		if got == 0 {
			break
		}
		enqueued += got
	}
	q.Close() // drains: every message handled
	if enqueued != n || handled.Load() != int64(n) {
		b.Fatalf("enqueued %d, handled %d; want %d", enqueued, handled.Load(), n)
	}
	if len(errs) != 0 {
		b.Fatalf("%d handler errors, the first: %v", len(errs), errs[0])
	}
	if dead := q.DeadLetters(); len(dead) != 0 {
		b.Fatalf("%d dead letters", len(dead))
	}
}

// seedConfigs stores n verified configs of org parsed from the create
// body fields (each with its own name and uid), re-verifying every
// reverifyInterval from t0, their credentials sealed by sealer: eight at
// once, since each seal is a KMS round trip.
func seedConfigs(b *testing.B, st store.Store, sealer seal.Sealer, org int64, n int, fields map[string]any) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := seedConfig(st, sealer, org, i, fields); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("seed configs: %v", err)
	}
}

func seedConfig(st store.Store, sealer seal.Sealer, org int64, i int, fields map[string]any) error {
	body := map[string]any{"name": "throughput " + strconv.Itoa(i)}
	for k, v := range fields {
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	c, creds, err := storageconfig.ParseCreate(raw)
	if err != nil {
		return fmt.Errorf("parse config %d: %w", i, err)
	}
	c.UID, c.OrgID = uuid.NewString(), org
	c.CreatedAt, c.UpdatedAt, c.Version = t0, t0, 1
	c.RecordVerification(t0, true)
	plain, err := json.Marshal(creds)
	if err != nil {
		return err
	}
	if c.Sealed, err = sealer.Seal(context.Background(), plain, seal.Binding{OrgID: org, ConfigUID: c.UID}); err != nil {
		return fmt.Errorf("seal config %d: %w", i, err)
	}
	clear(plain)
	if err := st.CreateConfig(context.Background(), c); err != nil {
		return fmt.Errorf("store config %d: %w", i, err)
	}
	return nil
}

// eventCounter is a changeevents.Publisher that counts the changes.
type eventCounter struct{ count atomic.Int64 }

func (e *eventCounter) Publish(context.Context, changeevents.Change) error {
	e.count.Add(1)
	return nil
}
