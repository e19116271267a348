package dynamolimit_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/ratelimit/dynamolimit"
	"github.com/bucketlink/bucketlink/shared/ratelimit/ratelimittest"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// table is one table of the store's schema on the shared DynamoDB Local,
// for the whole package (the suite's keys are random), with a recorder of
// the requests sent to it.
var table struct {
	once   sync.Once
	name   string
	client *dynamodb.Client
	rec    *testenv.OpRecorder
	err    error
}

func newTable(t *testing.T) (*dynamodb.Client, string, *testenv.OpRecorder) {
	t.Helper()
	ddb := testenv.SharedDynamoDB(t)
	table.once.Do(func() {
		cfg := ddb.AWSConfig()
		hc := cfg.HTTPClient.(*http.Client)
		table.rec = &testenv.OpRecorder{Next: hc.Transport}
		hc.Transport = table.rec
		table.client = dynamodb.NewFromConfig(cfg)
		table.name = testenv.TableName(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		table.err = dynamostore.CreateTable(ctx, table.client, table.name)
	})
	if table.err != nil {
		t.Fatalf("create table: %v", table.err)
	}
	return table.client, table.name, table.rec
}

func newLimiter(t *testing.T, limits ratelimit.Limits) *dynamolimit.Limiter {
	t.Helper()
	client, name, _ := newTable(t)
	l, err := dynamolimit.New(client, name, limits, dynamolimit.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, l ratelimit.Limits) ratelimit.Limiter { return newLimiter(t, l) })
}

// TestInstancesShareBuckets: two limiters (two function instances) on one
// table drain the same bucket, each guessing from its own hints.
func TestInstancesShareBuckets(t *testing.T) {
	limits := ratelimit.Limits{Verify: ratelimit.Rate{Count: 60, Per: time.Minute, Burst: 4}}
	a, b := newLimiter(t, limits), newLimiter(t, limits)
	k := ratelimittest.Key(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []int
	for i, l := range []*dynamolimit.Limiter{a, b, a, b, a, b} {
		d, err := l.Take(t.Context(), k, ratelimit.Verify, now)
		if err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
		if d.Allowed {
			got = append(got, d.Remaining)
		}
	}
	if !slices.Equal(got, []int{3, 2, 1, 0}) {
		t.Errorf("remaining after each admitted take: %v, want [3 2 1 0] and then refusals", got)
	}
}

// TestOneUpdateItemPerRequest records the DynamoDB requests of each Take:
// one UpdateItem for a full bucket, one for a draining one this instance
// has seen, none for a refusal it can already tell, two when another
// instance started draining the bucket, and never a read or a scan.
func TestOneUpdateItemPerRequest(t *testing.T) {
	limits := ratelimit.Limits{Verify: ratelimit.Rate{Count: 60, Per: time.Minute, Burst: 3}}
	a, b := newLimiter(t, limits), newLimiter(t, limits)
	_, _, rec := newTable(t)
	k := ratelimittest.Key(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name    string
		l       *dynamolimit.Limiter
		at      time.Duration
		allowed bool
		updates int
	}{
		{"new bucket", a, 0, true, 1},
		{"draining, seen", a, 0, true, 1},
		{"draining, unseen by b", b, 0, true, 2},
		{"empty, seen by b", b, 0, false, 0},
		{"empty, a's hint is old", a, 0, false, 1},
		{"empty, seen by a", a, 0, false, 0},
		{"refilled to full, a guesses full", a, time.Hour, true, 1},
	}
	rec.Take()
	for _, s := range steps {
		d, err := s.l.Take(t.Context(), k, ratelimit.Verify, now.Add(s.at))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		ops := rec.Take()
		if d.Allowed != s.allowed || len(ops) != s.updates || slices.ContainsFunc(ops, func(op string) bool { return op != "DynamoDB_20120810.UpdateItem" }) {
			t.Errorf("%s: allowed %v after %v; want allowed %v after %d UpdateItem", s.name, d.Allowed, ops, s.allowed, s.updates)
		}
	}
}

// TestItem reads the bucket's item: its keys, the TAT in microseconds,
// the TTL no earlier than the TAT, in seconds, and the type.
func TestItem(t *testing.T) {
	limits := ratelimit.Limits{Write: ratelimit.Rate{Count: 1, Per: time.Minute, Burst: 5}}
	l := newLimiter(t, limits)
	client, name, _ := newTable(t)
	k := ratelimittest.Key(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 123456000, time.UTC)
	for range 2 {
		if _, err := l.Take(t.Context(), k, ratelimit.Write, now); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "RATE#" + k + "#write"}, "sk": &types.AttributeValueMemberS{Value: "RATE"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	num := func(name string) int64 {
		v, ok := out.Item[name].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("%s: %#v", name, out.Item[name])
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tat, exp := num("tat_us"), num("expires_at")
	if want := now.Add(2 * time.Minute).UnixMicro(); tat != want {
		t.Errorf("tat_us = %d, want %d (two minutes of tokens taken)", tat, want)
	}
	if exp*1_000_000 < tat || exp > now.Add(5*time.Minute).Unix()+1 {
		t.Errorf("expires_at = %d s, want no earlier than the TAT (%d µs) and no later than a full refill", exp, tat)
	}
	if typ, _ := out.Item["type"].(*types.AttributeValueMemberS); typ == nil || typ.Value != "rate_limit" {
		t.Errorf("type = %#v", out.Item["type"])
	}
	if len(out.Item) != 5 {
		t.Errorf("attributes %v, want pk, sk, tat_us, expires_at, type", slices.Sorted(func(yield func(string) bool) {
			for k := range out.Item {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// failing is a DynamoDB that answers every UpdateItem with an error.
type failing struct{ err error }

func (f failing) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, f.err
}

func TestErrorsAreReturned(t *testing.T) {
	cause := errors.New("throttled")
	l, err := dynamolimit.New(failing{cause}, "t", ratelimit.DefaultLimits, dynamolimit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Take(t.Context(), "key_1", ratelimit.Read, time.Now()); !errors.Is(err, cause) {
		t.Errorf("Take: %v, want the cause", err)
	}
	if _, err := dynamolimit.New(failing{}, "t", ratelimit.Limits{Read: ratelimit.Rate{Count: 1}}, dynamolimit.Options{}); err == nil {
		t.Error("New accepted an invalid rate")
	}
}
