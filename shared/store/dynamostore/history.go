package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/store"
)

// ListVerifications returns a page of the config's history, newest first,
// by a strongly consistent Query of its item collection (sk between two
// history keys), filtered on the org: every entry of a config carries the
// config's org, so the filter keeps all of them or none. It fetches one
// entry more than the page to learn More.
func (s *Store) ListVerifications(ctx context.Context, orgID int64, uid string, opts store.HistoryOptions) (store.HistoryPage, error) {
	if err := opts.Validate(); err != nil {
		return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, err)
	}
	lo, hi, forward := int64(0), int64(1<<63-1), false
	switch {
	case opts.After > 0:
		hi = opts.After - 1
	case opts.Before > 0:
		lo, forward = opts.Before+1, true
	}
	in := &dynamodb.QueryInput{
		TableName:                s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		FilterExpression:         aws.String("#org = :org"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK, "#org": attrOrgID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(prefixConfig + uid), ":lo": str(historySK(lo)), ":hi": str(historySK(hi)), ":org": num(orgID),
		},
		ScanIndexForward: aws.Bool(forward),
		ConsistentRead:   aws.Bool(true),
	}
	want := opts.Limit + 1
	items := make([]store.VerificationEntry, 0, want)
	for len(items) < want {
		in.Limit = aws.Int32(int32(want - len(items)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, classify(ctx, err))
		}
		for _, item := range out.Items {
			v, err := decodeEntry(item)
			if err != nil {
				return store.HistoryPage{}, fmt.Errorf("list verifications of %s: %w", uid, err)
			}
			items = append(items, v)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := store.HistoryPage{Items: items, More: len(items) > opts.Limit}
	if page.More {
		page.Items = items[:opts.Limit]
	}
	if forward {
		slices.Reverse(page.Items) // fetched oldest first, nearest the cursor
	}
	return page, nil
}

// decodeEntry reads a history item.
func decodeEntry(item map[string]types.AttributeValue) (store.VerificationEntry, error) {
	r := reader{item: item}
	v := store.VerificationEntry{
		Seq:      r.num(attrSeq),
		At:       r.time(attrAt),
		Verified: r.boolean(attrVerified),
		Trigger:  store.Trigger(r.str(attrTrigger)),
	}
	checks := r.str(attrChecks)
	if r.err != nil {
		return v, fmt.Errorf("decode history item: %w", r.err)
	}
	if err := json.Unmarshal([]byte(checks), &v.Checks); err != nil {
		return v, fmt.Errorf("decode history item: checks: %w", err)
	}
	return v, nil
}

// purgeAttempts bounds the BatchWriteItem calls that retry unprocessed
// deletes.
const purgeAttempts = 5

// purgeBackoff spaces those calls: up to 20ms, doubling, fully jittered
// (unprocessed items mean throttling).
var purgeBackoff = backoff.Exponential{Base: 20 * time.Millisecond}

// purgeHistory deletes every history entry of config uid: a Query of
// their keys, then BatchWriteItem deletes of 25. It runs after the config
// item is gone, when no append can add an entry any more (an append checks
// that the config exists in the same transaction).
func (s *Store) purgeHistory(ctx context.Context, uid string) error {
	in := &dynamodb.QueryInput{
		TableName:                s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :hist)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(prefixConfig + uid), ":hist": str(prefixHistory),
		},
		ProjectionExpression: aws.String("#pk, #sk"),
		ConsistentRead:       aws.Bool(true),
	}
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return classify(ctx, err)
		}
		for batch := range slices.Chunk(out.Items, 25) {
			if err := s.deleteBatch(ctx, batch); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// deleteBatch deletes up to 25 items by key, retrying the ones DynamoDB
// leaves unprocessed.
func (s *Store) deleteBatch(ctx context.Context, keys []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, 0, len(keys))
	for _, k := range keys {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
	}
	pending := map[string][]types.WriteRequest{*s.table: reqs}
	for attempt := 1; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return classify(ctx, err)
		}
		if len(out.UnprocessedItems) == 0 {
			return nil
		}
		if attempt == purgeAttempts {
			return fmt.Errorf("%d deletes still unprocessed after %d attempts", len(out.UnprocessedItems[*s.table]), attempt)
		}
		pending = out.UnprocessedItems
		if err := backoff.Sleep(ctx, purgeBackoff.Delay(attempt)); err != nil {
			return err
		}
	}
}
