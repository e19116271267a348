package reverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

// benchConfigs is how many configs BenchmarkSchedulerRun stores:
// BUCKETLINK_BENCH_CONFIGS, 10,000 by default (the measure is
// 100,000).
func benchConfigs(b *testing.B) int {
	if v := os.Getenv("BUCKETLINK_BENCH_CONFIGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("BUCKETLINK_BENCH_CONFIGS=%q: want a number of at least 100", v)
		}
		return n
	}
	return 10_000
}

// itemCounter counts the items DynamoDB returns to Query requests (the
// Count of each answer): the items a scheduler run reads.
type itemCounter struct {
	next  http.RoundTripper
	items atomic.Int64
}

func (c *itemCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.Header.Get("X-Amz-Target") != "DynamoDB_20120810.Query" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var out struct{ Count int64 }
	if json.Unmarshal(body, &out) == nil {
		c.items.Add(out.Count)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// BenchmarkSchedulerRun measures one scheduler run over a fleet of which
// 1% is due: the fleet's next-due times are spread evenly over the
// interval (an hour), and each iteration moves the clock on by 1% of it.
// It reports the due configs enqueued per run and, on DynamoDB, the items
// the run read from the index.
func BenchmarkSchedulerRun(b *testing.B) {
	n := benchConfigs(b)
	for _, kind := range []string{"sqlite", "dynamodb"} {
		b.Run(kind+"/"+strconv.Itoa(n), func(b *testing.B) {
			var s store.Store
			counter := &itemCounter{}
			if kind == "sqlite" {
				s = openSQLite(b)
			} else {
				s = openDynamoCounting(b, counter)
			}
			org := &identity.Org{Slug: "bench", Name: "bench", ExternalID: "ext", CreatedAt: t0}
			if err := s.CreateOrg(context.Background(), org); err != nil {
				b.Fatal(err)
			}
			const interval = time.Hour
			step := interval / time.Duration(n)
			loadConfigs(b, s, org.ID, n, func(i int) time.Time { return t0.Add(time.Duration(i+1) * step) })

			q, err := memqueue.New(func(context.Context, queue.Message) error { return nil }, memqueue.Options{Buffer: n})
			if err != nil {
				b.Fatal(err)
			}
			if err := q.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(q.Close)
			clk := &clock{now: t0}
			sched := &reverify.Scheduler{Store: s, Sender: q, Clock: clk.Now, Logger: discard}
			counter.items.Store(0)
			enqueued := 0
			b.ResetTimer()
			for i := range b.N {
				clk.Set(t0.Add(time.Duration(i+1) * interval / 100))
				got, err := sched.RunOnce(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				enqueued += got
			}
			b.StopTimer()
			b.ReportMetric(float64(enqueued)/float64(b.N), "enqueued/run")
			if kind == "dynamodb" {
				b.ReportMetric(float64(counter.items.Load())/float64(b.N), "items-read/run")
			}
		})
	}
}

// loadConfigs stores n re-verifying configs, next due at next(i), eight
// writers at once.
func loadConfigs(b *testing.B, s store.Store, org int64, n int, next func(i int) time.Time) {
	var wg sync.WaitGroup
	var failed atomic.Value
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				c := storetest.NewScheduledConfig(org, time.Hour, next(i))
				if err := s.CreateConfig(context.Background(), c); err != nil {
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
		b.Fatalf("load configs: %v", err)
	}
}

// openDynamoCounting is openDynamo with the item counter on the client.
func openDynamoCounting(b *testing.B, counter *itemCounter) store.Store {
	cfg := testenv.SharedDynamoDB(b).AWSConfig()
	hc := cfg.HTTPClient.(*http.Client)
	counter.next = hc.Transport
	hc.Transport = counter
	client := dynamodb.NewFromConfig(cfg)
	table := testenv.TableName(b)
	if err := dynamostore.CreateTable(context.Background(), client, table); err != nil {
		b.Fatalf("create table: %v", err)
	}
	b.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return dynamostore.New(client, table)
}
