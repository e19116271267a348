package lambdatest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/queue"
)

// The measures of the Lambda functions (make bench):
//
//	BenchmarkBootstrapSize  the linux/arm64 bootstrap `sam build` ships,
//	                        unzipped (MB) and as Lambda's zip (zip-MB)
//	BenchmarkInit           process start to the first GET next (init-ms),
//	                        including the list function's read of the cursor
//	                        secret from moto, against a baseline (base-ms,
//	                        and the ratio of medians init/base): a bare
//	                        function that loads the AWS configuration as
//	                        the functions do (awsenv) and builds the
//	                        clients that function builds
//	                        (baselineClients), run alternately with it
//	BenchmarkWarmInvoke     one event through the Runtime API and a warm
//	                        function, against DynamoDB Local, moto's KMS
//	                        and SQS, and MinIO: an API Gateway event for
//	                        the HTTP functions (verify-bucket: polls of a
//	                        verification in connecting), an SQS event of
//	                        one re-verification for verify-worker, the
//	                        scheduled event for reverify-scheduler
//
// Aims: init under 30 ms on the test machine, a binary under 20 MB.

func BenchmarkBootstrapSize(b *testing.B) {
	root := repoRoot(b)
	for _, name := range functionNames {
		b.Run(name, func(b *testing.B) {
			path := lambdatest.BuildFunction(b, root, name, lambdatest.LambdaTarget)
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			zipped := zipSize(b, data)
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(len(data))/1e6, "MB")
			b.ReportMetric(float64(zipped)/1e6, "zip-MB")
		})
	}
}

// zipSize is the size of a deployment package holding only bootstrap.
func zipSize(b *testing.B, data []byte) int {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

// benchEnv is the stack shared by the benchmarks: one table, org, key and
// bucket, with configs to list, get, test and delete.
var benchEnv struct {
	once   sync.Once
	s      *stack
	org    *identity.Org
	key    string
	bucket bucket
	uid    string // a config to get and test
	// configID is its integer id (the bucket-verify API's bucketId).
	configID string
}

func benchStack(b *testing.B) {
	benchEnv.once.Do(func() {
		s := newStack(b)
		benchEnv.s = s
		benchEnv.org, benchEnv.key = s.newOrg(b, "bench")
		benchEnv.bucket = s.newBucket(b)
		f := s.start(b, "create-storage-config", s.env("create-storage-config"))
		resp := invokeHTTP(b, f, s.event(b, "create-storage-config", edit{apiKey: benchEnv.key, bucket: benchEnv.bucket}))
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
		}
		benchEnv.uid = decodeUID(b, resp.Body)
		var created struct {
			ID json.Number `json:"id"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || created.ID == "" {
			b.Fatalf("no id in %s: %v", resp.Body, err)
		}
		benchEnv.configID = created.ID.String()
		f.Stop()
		// A full default page (20) to list.
		copyConfigs(b, benchEnv.uid, 25)
	})
	if benchEnv.s == nil {
		b.Fatal("the benchmark stack failed to start")
	}
}

// copyConfigs stores n copies of config uid under fresh uids and returns
// them.
func copyConfigs(b *testing.B, uid string, n int) []string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st := benchEnv.s.store
	orig, err := st.GetConfig(ctx, uid)
	if err != nil {
		b.Fatal(err)
	}
	uids := make([]string, n)
	for i := range uids {
		c := *orig
		c.UID = uuid.NewString()
		c.CreatedAt = orig.CreatedAt.Add(-time.Duration(i+1) * time.Second)
		c.Version = 1
		if err := st.CreateConfig(ctx, &c); err != nil {
			b.Fatal(err)
		}
		uids[i] = c.UID
	}
	return uids
}

func decodeUID(b *testing.B, body string) string {
	b.Helper()
	var v struct {
		UID string `json:"uid"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.UID == "" {
		b.Fatalf("no uid in %s: %v", body, err)
	}
	return v.UID
}

func BenchmarkInit(b *testing.B) {
	benchStack(b)
	s := benchEnv.s
	for _, name := range functionNames {
		b.Run(name, func(b *testing.B) {
			bootstrap := lambdatest.BuildFunction(b, s.root, name, lambdatest.HostTarget())
			env := s.env(name)
			baseline := buildBaseline(b, s.root, name, env)
			initOf := func(path string) time.Duration {
				f := lambdatest.Start(b, path, lambdatest.Options{Name: name, Env: env})
				defer f.Stop()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				d, err := f.WaitInit(ctx)
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			// The function and its baseline, one after the other (A B A
			// B), so that both see the same machine.
			var inits, bases []time.Duration
			for b.Loop() {
				inits = append(inits, initOf(bootstrap))
				bases = append(bases, initOf(baseline))
			}
			reportDurations(b, "init", inits)
			reportDurations(b, "base", bases)
			b.ReportMetric(median(inits)/median(bases), "init/base")
		})
	}
}

// median is the median of ds in ms.
func median(ds []time.Duration) float64 {
	s := slices.Sorted(slices.Values(ds))
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// reportDurations reports the mean, median and maximum of ds in ms.
func reportDurations(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum/time.Duration(len(ds))), what+"-ms")
	b.ReportMetric(ms(ds[len(ds)/2]), what+"-p50-ms")
	b.ReportMetric(ms(ds[len(ds)-1]), what+"-max-ms")
}

func BenchmarkWarmInvoke(b *testing.B) {
	benchStack(b)
	s := benchEnv.s
	tests := []struct {
		name   string
		status int
		// prepare, if set, returns one config uid per iteration, made
		// outside the timer.
		prepare func(b *testing.B, n int) []string
	}{
		{name: "list-storage-configs", status: http.StatusOK},
		{name: "create-storage-config", status: http.StatusCreated},
		{name: "get-storage-config", status: http.StatusOK},
		{name: "patch-storage-config", status: http.StatusOK},
		{name: "list-config-verifications", status: http.StatusOK},
		{name: "test-storage-config", status: http.StatusOK},
		{
			name: "delete-storage-config", status: http.StatusNoContent,
			prepare: func(b *testing.B, n int) []string { return copyConfigs(b, benchEnv.uid, n) },
		},
		{name: "get-setup-info", status: http.StatusOK},
		// The first invoke starts a verification (a KMS seal, a PutItem and
		// an SQS send); the others poll it: one GetItem each.
		{name: "verify-bucket", status: http.StatusOK},
		{name: "verify-existing-bucket", status: http.StatusOK},
		// The embedded OpenAPI document: no AWS call at all.
		{name: "get-openapi", status: http.StatusOK},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			// Rate limiting on (its UpdateItem is part of the cost), with
			// limits no b.N meets.
			f := s.start(b, tt.name, highRateLimits(s.env(tt.name)))
			var uids []string
			if tt.prepare != nil {
				uids = tt.prepare(b, b.N)
			}
			events := make([][]byte, b.N)
			for i := range events {
				uid := benchEnv.uid
				if uids != nil {
					uid = uids[i]
				}
				events[i] = s.event(b, tt.name, edit{apiKey: benchEnv.key, uid: uid, configID: benchEnv.configID, bucket: benchEnv.bucket,
					orgID: strconv.FormatInt(benchEnv.org.ID, 10)})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp := invokeHTTP(b, f, events[i])
				if resp.StatusCode != tt.status {
					b.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/invoke")
		})
	}
	// The queue functions. verify-worker: one re-verification of the
	// bench config per invoke (its SQS event as Lambda hands it over): a
	// KMS Decrypt, the checks against MinIO, the result written.
	b.Run("verify-worker", func(b *testing.B) {
		f := s.start(b, "verify-worker", s.env("verify-worker"))
		body, err := json.Marshal(map[string]string{"kind": string(queue.KindReverify), "key": benchEnv.uid})
		if err != nil {
			b.Fatal(err)
		}
		event := setRecordBody(b, s.event(b, "verify-worker", edit{recordKey: "unused"}), string(body))
		b.ResetTimer()
		for b.Loop() {
			if r := invokeWorker(b, f, event); len(r.BatchItemFailures) != 0 {
				b.Fatalf("failures %+v\n%s", r, f.Output())
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/invoke")
	})
	// reverify-scheduler: one scheduled run per invoke, over a table
	// whose configs are not due (a Query of each gsi2 shard).
	b.Run("reverify-scheduler", func(b *testing.B) {
		f := s.start(b, "reverify-scheduler", s.env("reverify-scheduler"))
		event, err := os.ReadFile(filepath.Join(s.root, "infra", "events", "reverify-scheduler.json"))
		if err != nil {
			b.Fatal(err)
		}
		invokeScheduler(b, f, event) // whatever is due now is enqueued once
		b.ResetTimer()
		for b.Loop() {
			if n := invokeScheduler(b, f, event); n != 0 {
				b.Fatalf("enqueued %d, want 0", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/invoke")
	})
}
