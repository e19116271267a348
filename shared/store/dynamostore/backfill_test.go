package dynamostore

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// TestBackfillConfigIDs writes config items as the code before integer
// ids did (no id attribute, no id item), backfills them, and checks that
// each then has a distinct id that GetConfigByID finds, that a config
// created afterwards gets a fresh one, and that a second run does nothing.
func TestBackfillConfigIDs(t *testing.T) {
	ctx := context.Background()
	d := testenv.SharedDynamoDB(t)
	client := d.Client(t)
	table := testenv.TableName(t)
	if err := CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	s := New(client, table)
	var legacy []string
	for range 3 {
		now := storageconfig.Now()
		c := &storageconfig.Config{UID: uuid.NewString(), OrgID: 7, Name: "legacy", Provider: s3.NameAWS,
			CreatedAt: now, UpdatedAt: now, Version: 1, Settings:
			// configItem leaves out id when it is 0: the item of today's code
			// before ids existed.
			&s3.Settings{BucketName: "b", Auth: s3.AuthAccessKey}}

		item, err := configItem(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: item}); err != nil {
			t.Fatal(err)
		}
		legacy = append(legacy, c.UID)
	}
	got, err := s.GetConfig(ctx, legacy[0])
	if err != nil || got.ID != 0 {
		t.Fatalf("legacy config before the backfill: id %v, %v", got, err)
	}
	n, err := s.BackfillConfigIDs(ctx)
	if err != nil || n != 3 {
		t.Fatalf("backfill = %d, %v; want 3", n, err)
	}
	seen := map[int64]bool{}
	var last int64
	for _, uid := range legacy {
		c, err := s.GetConfig(ctx, uid)
		if err != nil || c.ID <= 0 || seen[c.ID] {
			t.Fatalf("config %s after the backfill: %+v, %v", uid, c, err)
		}
		seen[c.ID] = true
		last = max(last, c.ID)
		byID, err := s.GetConfigByID(ctx, c.ID)
		if err != nil || byID.UID != uid {
			t.Errorf("GetConfigByID(%d) = %v, %v; want %s", c.ID, byID, err, uid)
		}
	}
	if n, err := s.BackfillConfigIDs(ctx); err != nil || n != 0 {
		t.Errorf("a second backfill = %d, %v; want 0", n, err)
	}
	now := storageconfig.Now()
	fresh := &storageconfig.Config{UID: uuid.NewString(), OrgID: 7, Name: "new", Provider: s3.NameAWS,
		CreatedAt: now, UpdatedAt: now, Version: 1, Settings: &s3.Settings{BucketName: "b", Auth: s3.AuthAccessKey}}
	if err := s.CreateConfig(ctx, fresh); err != nil || fresh.ID <= last {
		t.Errorf("create after the backfill: id %d, %v; want above %d", fresh.ID, err, last)
	}
}
