package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/errcode"
)

// get returns the item with key k by a strongly consistent GetItem, or nil
// when there is none.
func (s *Store) get(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify(ctx, err)
	}
	return out.Item, nil
}

// putNew is a transaction Put of item conditional on no item having its key.
func putNew(table *string, item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	}}
}

// mustExist is a transaction ConditionCheck that the item with key k exists.
func mustExist(table *string, k map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                table,
		Key:                      k,
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	}}
}

// transactAttempts bounds the retries of a transaction that collided with
// another one on the same items (cancellation reason TransactionConflict).
const transactAttempts = 5

// transactBackoff spaces those retries: up to 10ms, doubling, fully
// jittered so that the colliding writers do not collide again.
var transactBackoff = backoff.Exponential{Base: 10 * time.Millisecond}

// transact runs TransactWriteItems. When a condition failed it returns the
// cancellation reasons, one per item in order, and a nil error; when the
// transaction succeeded both are nil. A transaction cancelled only by
// conflicts with concurrent transactions is retried with backoff (the SDK
// does not retry those); other failures are returned classified.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) ([]string, error) {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	for attempt := 1; ; attempt++ {
		_, err := s.client.TransactWriteItems(ctx, in)
		if err == nil {
			return nil, nil
		}
		reasons, cancelled := cancelReasons(err)
		switch {
		case !cancelled:
			return nil, classify(ctx, err)
		case slices.Contains(reasons, reasonConditionFailed):
			return reasons, nil
		case slices.Contains(reasons, reasonThrottling), slices.Contains(reasons, reasonThroughputExceeded):
			return nil, errcode.Wrap(errcode.Unavailable, err, "dynamodb throttled a transaction")
		case !slices.Contains(reasons, reasonTransactionConflict):
			return nil, classify(ctx, err)
		case attempt == transactAttempts:
			return nil, errcode.Wrap(errcode.Unavailable, err, "dynamodb transaction conflicts after %d attempts", attempt)
		}
		if werr := backoff.Sleep(ctx, transactBackoff.Delay(attempt)); werr != nil {
			return nil, fmt.Errorf("%w: %w", werr, err)
		}
	}
}
