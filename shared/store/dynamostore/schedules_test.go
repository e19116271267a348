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
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

// TestDynamoScheduleRequests checks the requests of the schedule: finding
// due configs is one Query of gsi2 per shard and never a Scan; a claim is
// one UpdateItem; a page of history one Query; an append a Query and a
// transaction.
func TestDynamoScheduleRequests(t *testing.T) {
	rec := &testenv.OpRecorder{}
	s := newStore(t, func(rt http.RoundTripper) http.RoundTripper { rec.Next = rt; return rec })
	ctx := t.Context()
	org := &identity.Org{Slug: "due-" + uuid.NewString()[:8], Name: "D", ExternalID: uuid.NewString(), CreatedAt: storageconfig.Now()}
	if err := s.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	now := storageconfig.Now()
	c := storetest.NewScheduledConfig(org.ID, time.Hour, now.Add(-time.Minute))
	if err := s.CreateConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	rec.Take()

	op := func(name string) string { return "DynamoDB_20120810." + name }
	steps := []struct {
		name string
		call func() error
		want []string
	}{
		{"due", func() error { _, err := s.DueConfigs(ctx, now, 100); return err },
			slices.Repeat([]string{op("Query")}, dynamostore.DueShards)},
		{"claim", func() error { return s.ClaimDue(ctx, c, c.NextReverifyAt, now.Add(time.Hour)) }, []string{op("UpdateItem")}},
		{"append", func() error {
			return s.AppendVerification(ctx, org.ID, c.UID, store.VerificationEntry{At: now, Verified: true, Trigger: store.TriggerSchedule})
		}, []string{op("Query"), op("TransactWriteItems")}},
		{"history", func() error {
			_, err := s.ListVerifications(ctx, org.ID, c.UID, store.HistoryOptions{Limit: 20})
			return err
		}, []string{op("Query")}},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if got := rec.Take(); !slices.Equal(got, tt.want) {
				t.Errorf("requests: got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDynamoDueIndexHoldsNoCredentials reads gsi2 directly: it is sparse
// (only configs that re-verify) and holds the schedule's attributes, never
// the sealed credentials.
func TestDynamoDueIndexHoldsNoCredentials(t *testing.T) {
	ddb := testenv.SharedDynamoDB(t)
	client := ddb.Client(t)
	table := testenv.TableName(t)
	ctx := t.Context()
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	s := dynamostore.New(client, table)
	on := storetest.NewScheduledConfig(1, time.Hour, storageconfig.Now())
	off := storetest.NewConfig(1)
	for _, c := range []*storageconfig.Config{on, off} {
		if err := s.CreateConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var items []map[string]types.AttributeValue
	for shard := range dynamostore.DueShards {
		out, err := client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			IndexName:                 aws.String(dynamostore.IndexDue),
			KeyConditionExpression:    aws.String("gsi2pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "DUE#" + strconv.Itoa(shard)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, out.Items...)
	}
	if len(items) != 1 {
		t.Fatalf("gsi2 holds %d items, want only the config that re-verifies", len(items))
	}
	if uid := items[0]["uid"].(*types.AttributeValueMemberS).Value; uid != on.UID {
		t.Errorf("gsi2 holds %s, want %s", uid, on.UID)
	}
	for _, name := range []string{"sealed", "name", "s3_bucket_name"} {
		if _, ok := items[0][name]; ok {
			t.Errorf("gsi2 item has attribute %s", name)
		}
	}
}
