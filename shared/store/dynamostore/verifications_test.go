package dynamostore_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

// TestVerificationConformance runs the verification suite against
// DynamoDB Local, with a fresh table for every store it opens. The table's
// TTL expires records, so the sweep deletes nothing.
func TestVerificationConformance(t *testing.T) {
	storetest.RunVerifications(t, func(t *testing.T) store.Verifications { return newStore(t, nil) }, storetest.SweepByTTL)
}

// TestDynamoVerificationRequests checks the requests of each method: a
// poll is one GetItem, writes are one PutItem each, and the sweep sends
// nothing (no Scan, ever).
func TestDynamoVerificationRequests(t *testing.T) {
	rec := &testenv.OpRecorder{}
	s := newStore(t, func(rt http.RoundTripper) http.RoundTripper { rec.Next = rt; return rec })
	ctx := t.Context()
	r := storetest.NewVerification(1)
	calls := []struct {
		name string
		call func() error
		want []string
	}{
		{"create", func() error { return s.CreateVerification(ctx, r) }, []string{"PutItem"}},
		{"poll", func() error { _, err := s.GetVerification(ctx, r.Key); return err }, []string{"GetItem"}},
		{"update", func() error { return s.UpdateVerification(ctx, r) }, []string{"PutItem"}},
		{"replace", func() error {
			n := storetest.NewVerification(1)
			n.Key = r.Key
			return s.ReplaceVerification(ctx, n, r.Version)
		}, []string{"PutItem"}},
		{"sweep", func() error { _, err := s.SweepVerifications(ctx, time.Now()); return err }, nil},
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

// TestDynamoVerificationTTL reads a stored item directly: it carries the
// TTL attribute in whole seconds, never before the record's expiry.
func TestDynamoVerificationTTL(t *testing.T) {
	ddb := testenv.SharedDynamoDB(t)
	client := ddb.Client(t)
	table := testenv.TableName(t)
	if err := dynamostore.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	s := dynamostore.New(client, table)

	tests := []struct {
		name    string
		expires time.Time
		want    int64
	}{
		{"whole second", time.Unix(4102444800, 0), 4102444800},
		{"rounded up", time.Unix(4102444800, 1000), 4102444801},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := storetest.NewVerification(1)
			r.ExpiresAt = tt.expires
			if err := s.CreateVerification(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
				TableName: aws.String(table),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "VERIFY#" + r.Key},
					"sk": &types.AttributeValueMemberS{Value: "VERIFY"},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ttl, ok := out.Item[dynamostore.TTLAttribute].(*types.AttributeValueMemberN)
			if !ok {
				t.Fatalf("item %v has no number %s", out.Item, dynamostore.TTLAttribute)
			}
			if got, err := strconv.ParseInt(ttl.Value, 10, 64); err != nil || got != tt.want {
				t.Errorf("%s = %s, want %d", dynamostore.TTLAttribute, ttl.Value, tt.want)
			}
		})
	}
}

// TestSlotConformance runs the slots suite against DynamoDB Local, with
// a fresh table for every store it opens.
func TestSlotConformance(t *testing.T) {
	storetest.RunSlots(t, func(t *testing.T) store.VerificationSlots { return newStore(t, nil) })
}
