package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// The key attributes of the table and of its one global secondary index.
// infra/dynamodb.md documents them and the SAM template declares the same.
const (
	attrPK     = "pk"     // table partition key (S)
	attrSK     = "sk"     // table sort key (S)
	attrGSI1PK = "gsi1pk" // gsi1 partition key (S): ORG#<org id>, configs only
	attrGSI1SK = "gsi1sk" // gsi1 sort key (S): <created_at, 20 digits>#<uid>
	attrGSI2PK = "gsi2pk" // gsi2 partition key (S): DUE#<shard>, re-verifying configs only
	attrGSI2SK = "gsi2sk" // gsi2 sort key (S): <next_reverify_at, 20 digits>#<uid>

	// IndexByOrg is the global secondary index that lists an org's configs
	// in (created_at, uid) order. Its projection is ALL.
	IndexByOrg = "gsi1"

	// IndexDue is the sparse global secondary index of the configs that
	// re-verify, by next-due time, in DueShards partitions. Its
	// projection is the few attributes of a schedule (dueProjection),
	// never the credentials.
	IndexDue = "gsi2"

	// TTLAttribute is the table's time-to-live attribute: a Number of
	// seconds since the Unix epoch after which DynamoDB deletes the item.
	// It is reserved for short-lived records (asynchronous verification
	// runs); configs, orgs, users and keys never carry it.
	TTLAttribute = "expires_at"
)

// Key prefixes and fixed sort keys of the item types (see infra/dynamodb.md).
const (
	prefixConfig   = "CONFIG#"   // pk CONFIG#<uid>, sk CONFIG
	prefixOrg      = "ORG#"      // pk ORG#<id>, sk ORG; also gsi1pk of configs
	prefixOrgSlug  = "ORGSLUG#"  // pk ORGSLUG#<slug>, sk ORGSLUG
	prefixUser     = "USER#"     // pk USER#<id>, sk USER
	prefixUserName = "USERNAME#" // pk USERNAME#<name>, sk USERNAME
	prefixMember   = "MEMBER#"   // pk USER#<user id>, sk MEMBER#<org id>
	prefixKey      = "APIKEY#"   // pk APIKEY#<hex sha-256>, sk APIKEY
	prefixKeyID    = "APIKEYID#" // pk APIKEYID#<key id>, sk APIKEYID
	prefixConfigID = "CONFIGID#" // pk CONFIGID#<integer id>, sk CONFIGID: the config's uid
	counterOrgID   = "COUNTER#org_id"
	counterConfig  = "COUNTER#config_id"

	skConfig   = "CONFIG"
	skConfigID = "CONFIGID"
	skOrg      = "ORG"
	skOrgSlug  = "ORGSLUG"
	skUser     = "USER"
	skUserName = "USERNAME"
	skKey      = "APIKEY"
	skKeyID    = "APIKEYID"
	skCounter  = "COUNTER"
)

// key returns the primary key of the item (pk, sk).
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func configKey(uid string) map[string]types.AttributeValue { return key(prefixConfig+uid, skConfig) }

func configIDKey(id int64) map[string]types.AttributeValue {
	return key(prefixConfigID+strconv.FormatInt(id, 10), skConfigID)
}

func orgPK(id int64) string { return prefixOrg + strconv.FormatInt(id, 10) }

// sortPosition encodes a point of the newest-first ordering as a gsi1 sort
// key. The time becomes its Unix microseconds with the sign bit flipped,
// as 20 decimal digits, so that string order is time order over the whole
// int64 range; the uid follows a '#'. Because the time part has a fixed
// width, byte-wise string order (DynamoDB's order for S keys) is exactly
// store.Position.Compare order.
func sortPosition(createdAt time.Time, uid string) string {
	biased := uint64(createdAt.UnixMicro()) ^ (1 << 63)
	return fmt.Sprintf("%020d#%s", biased, uid)
}

// CreateTable creates the table with the schema New expects: on-demand
// billing, pk/sk string keys, the gsi1 index (projection ALL), the gsi2
// index (the schedule's attributes) and time to live on expires_at. It
// waits until the table is active (immediately on DynamoDB Local, seconds
// on AWS). A table that already exists is an error
// matching errcode.ErrAlreadyExists. Deployments create the table from the
// SAM template instead; this is for tests and local use.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, createTableInput(table))
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, errcode.Wrap(errcode.AlreadyExists, err, "table exists"))
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, classify(ctx, err))
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 5*time.Minute); err != nil {
		return fmt.Errorf("create table %s: wait until active: %w", table, classify(ctx, err))
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("create table %s: enable time to live: %w", table, classify(ctx, err))
	}
	return nil
}

func createTableInput(table string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: s},
			{AttributeName: aws.String(attrSK), AttributeType: s},
			{AttributeName: aws.String(attrGSI1PK), AttributeType: s},
			{AttributeName: aws.String(attrGSI1SK), AttributeType: s},
			{AttributeName: aws.String(attrGSI2PK), AttributeType: s},
			{AttributeName: aws.String(attrGSI2SK), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByOrg),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}, {
			IndexName: aws.String(IndexDue),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrGSI2PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrGSI2SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: dueProjection},
		}},
	}
}
