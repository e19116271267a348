package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BackfillConfigIDs gives an integer id to every config item written
// before configs had one (no id attribute), in the order the table scan
// meets them: the next value of the config id counter, set on the config
// with its id item in one transaction, conditional on the config still
// having no id. It is an operator's migration (`bucketlink migrate`), not
// a request path, so it may scan; it reads only config items (a filter on
// type) and is safe to run again or concurrently with the service: a
// config that got an id meanwhile is left as it is (its drawn id is
// skipped, never reused). It returns how many configs it numbered.
func (s *Store) BackfillConfigIDs(ctx context.Context) (int, error) {
	in := &dynamodb.ScanInput{
		TableName:                s.table,
		FilterExpression:         aws.String("#type = :config AND attribute_not_exists(#id)"),
		ProjectionExpression:     aws.String("#uid, #org"),
		ExpressionAttributeNames: map[string]string{"#type": attrType, "#id": attrID, "#uid": attrUID, "#org": attrOrgID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":config": str("config"),
		},
	}
	n := 0
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return n, fmt.Errorf("backfill config ids: scan: %w", classify(ctx, err))
		}
		for _, item := range out.Items {
			r := reader{item: item}
			uid, org := r.str(attrUID), r.num(attrOrgID)
			if r.err != nil {
				return n, fmt.Errorf("backfill config ids: %w", r.err)
			}
			done, err := s.backfillOne(ctx, uid, org)
			if err != nil {
				return n, fmt.Errorf("backfill config ids: config %s: %w", uid, err)
			}
			if done {
				n++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// backfillOne numbers one config; false when it needed no id any more
// (deleted, or numbered meanwhile).
func (s *Store) backfillOne(ctx context.Context, uid string, org int64) (bool, error) {
	id, err := s.next(ctx, counterConfig)
	if err != nil {
		return false, err
	}
	alias := configIDKey(id)
	alias[attrUID] = str(uid)
	alias[attrOrgID] = num(org)
	reasons, err := s.transact(ctx,
		types.TransactWriteItem{Update: &types.Update{
			TableName:                 s.table,
			Key:                       configKey(uid),
			UpdateExpression:          aws.String("SET #id = :id"),
			ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#id)"),
			ExpressionAttributeNames:  map[string]string{"#id": attrID, "#pk": attrPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": num(id)},
		}},
		putNew(s.table, alias))
	switch {
	case err != nil:
		return false, err
	case reasons == nil:
		return true, nil
	case reasons[0] == reasonConditionFailed:
		return false, nil
	default:
		return false, fmt.Errorf("config id %d is taken", id)
	}
}
