package reverify_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// storeKind opens a fresh store of one kind.
type storeKind struct {
	name string
	open func(t *testing.T) store.Store
}

// storeKinds are the two stores: SQLite in a temporary directory, and a
// fresh table on the shared DynamoDB Local.
var storeKinds = []storeKind{
	{"sqlite", func(t *testing.T) store.Store { return openSQLite(t) }},
	{"dynamodb", openDynamo},
}

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "bucketlink.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openDynamo(t *testing.T) store.Store {
	t.Helper()
	client := testenv.SharedDynamoDB(t).Client(t)
	table := testenv.TableName(t)
	if err := dynamostore.CreateTable(context.Background(), client, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("delete table %s: %v", table, err)
		}
	})
	return dynamostore.New(client, table)
}

// newOrg creates an org and returns it.
func newOrg(t *testing.T, s store.Store, slug string) *identity.Org {
	t.Helper()
	o := &identity.Org{Slug: slug, Name: slug, ExternalID: "ext-" + slug, CreatedAt: storageconfig.Now()}
	if err := s.CreateOrg(context.Background(), o); err != nil {
		t.Fatalf("create org: %v", err)
	}
	return o
}

// clock is a time that tests move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// inbox is the handler end of a memqueue: it counts every delivery by
// key, and passes each message on to next (when set), keeping its errors.
type inbox struct {
	next queue.Handler

	mu     sync.Mutex
	counts map[string]int
	total  int
	errs   []error
	cond   *sync.Cond
}

func newInbox(next queue.Handler) *inbox {
	in := &inbox{next: next, counts: map[string]int{}}
	in.cond = sync.NewCond(&in.mu)
	return in
}

func (in *inbox) handle(ctx context.Context, m queue.Message) error {
	var err error
	if in.next != nil {
		err = in.next(ctx, m)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts[m.Key]++
	in.total++
	if err != nil {
		in.errs = append(in.errs, err)
	}
	in.cond.Broadcast()
	return err
}

// wait blocks until total deliveries have been handled, failing t after
// 30 seconds.
func (in *inbox) wait(t *testing.T, total int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		in.mu.Lock()
		for in.total < total {
			in.cond.Wait()
		}
		in.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		in.mu.Lock()
		got := in.total
		in.mu.Unlock()
		t.Fatalf("%d deliveries handled, want %d", got, total)
	}
}

// snapshot returns the counts by key, the total and the handler errors.
func (in *inbox) snapshot() (map[string]int, int, []error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	counts := make(map[string]int, len(in.counts))
	for k, v := range in.counts {
		counts[k] = v
	}
	return counts, in.total, append([]error(nil), in.errs...)
}

// startQueue returns a running memqueue delivering to in (one attempt per
// message: a failed handler shows in in.errs, not as a redelivery).
func startQueue(t *testing.T, in *inbox) *memqueue.Queue {
	t.Helper()
	q := newQueue(t, in)
	if err := q.Start(t.Context()); err != nil {
		t.Fatalf("start queue: %v", err)
	}
	return q
}

// newQueue returns a memqueue delivering to in, not started.
func newQueue(t *testing.T, in *inbox) *memqueue.Queue {
	t.Helper()
	q, err := memqueue.New(in.handle, memqueue.Options{Workers: 2, MaxAttempts: 1})
	if err != nil {
		t.Fatalf("new queue: %v", err)
	}
	t.Cleanup(q.Close)
	return q
}
