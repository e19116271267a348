package dynamostore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

var _ store.Schedules = (*Store)(nil)

// The schedule's attributes of a config item (all absent on items written
// before re-verification, which read as off).
const (
	attrReverifyInterval = "reverify_interval_s" // N, seconds; absent: 0, off
	attrNextReverifyAt   = "next_reverify_at"    // N, microseconds; absent: none
	attrReverifyFailures = "reverify_failures"   // N; absent: 0
)

// dueProjection is what gsi2 copies from a config item besides its keys:
// enough for the scheduler to claim it, and no credentials.
var dueProjection = []string{attrUID, attrOrgID, attrVersion, attrReverifyInterval, attrNextReverifyAt, attrReverifyFailures}

// DueShards is how many gsi2 partitions the schedule is spread over
// (gsi2pk DUE#0 .. DUE#7, by a hash of the uid), so that the writes of a
// busy scheduler run do not all land on one index partition. Changing it
// means rewriting gsi2pk of every item.
const DueShards = 8

// dueShard returns the gsi2 partition key of config uid.
func dueShard(uid string) string {
	h := fnv.New32a()
	h.Write([]byte(uid))
	return "DUE#" + strconv.FormatUint(uint64(h.Sum32()%DueShards), 10)
}

// putSchedule writes c's schedule into its item, and the gsi2 keys only
// when c re-verifies: the index is sparse.
func putSchedule(item map[string]types.AttributeValue, c *storageconfig.Config) {
	if c.ReverifyInterval > 0 {
		item[attrReverifyInterval] = num(int64(c.ReverifyInterval / time.Second))
	}
	putOptionalTime(item, attrNextReverifyAt, c.NextReverifyAt)
	if c.ReverifyFailures != 0 {
		item[attrReverifyFailures] = num(int64(c.ReverifyFailures))
	}
	if c.Reverifies() {
		item[attrGSI2PK] = str(dueShard(c.UID))
		item[attrGSI2SK] = str(sortPosition(c.NextReverifyAt, c.UID))
	}
}

// readSchedule is the inverse of putSchedule.
func readSchedule(r *reader, c *storageconfig.Config) {
	c.ReverifyInterval = time.Duration(r.optionalNum(attrReverifyInterval)) * time.Second
	c.NextReverifyAt = r.optionalTime(attrNextReverifyAt)
	c.ReverifyFailures = int(r.optionalNum(attrReverifyFailures))
}

// optionalNum returns a number attribute, or 0 when it is absent.
func (r *reader) optionalNum(name string) int64 {
	if _, present := r.item[name]; !present {
		return 0
	}
	return r.num(name)
}

// decodeDue reads a gsi2 item: the projected attributes only.
func decodeDue(item map[string]types.AttributeValue) (*storageconfig.Config, error) {
	r := reader{item: item}
	c := &storageconfig.Config{UID: r.str(attrUID), OrgID: r.num(attrOrgID), Version: r.num(attrVersion)}
	readSchedule(&r, c)
	if r.err != nil {
		return nil, fmt.Errorf("decode due config: %w", r.err)
	}
	return c, nil
}

// DueConfigs queries each of the DueShards partitions of gsi2 for the
// configs due at or before now (gsi2sk below the position just after now),
// oldest first, and returns the limit most overdue of them all. Each
// query stops at limit items; nothing scans.
func (s *Store) DueConfigs(ctx context.Context, now time.Time, limit int) ([]*storageconfig.Config, error) {
	if err := store.ValidateDueLimit(limit); err != nil {
		return nil, fmt.Errorf("due configs: %w", err)
	}
	// '$' sorts just after '#': every key of a time at or before now.
	bound := sortPosition(now, "")
	bound = bound[:len(bound)-1] + "$"
	var out []*storageconfig.Config
	for shard := range DueShards {
		in := &dynamodb.QueryInput{
			TableName:                s.table,
			IndexName:                aws.String(IndexDue),
			KeyConditionExpression:   aws.String("#pk = :shard AND #sk < :bound"),
			ExpressionAttributeNames: map[string]string{"#pk": attrGSI2PK, "#sk": attrGSI2SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":shard": str("DUE#" + strconv.Itoa(shard)), ":bound": str(bound),
			},
			ScanIndexForward: aws.Bool(true),
		}
		for got := 0; got < limit; {
			in.Limit = aws.Int32(int32(limit - got))
			page, err := s.client.Query(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("due configs: %w", classify(ctx, err))
			}
			for _, item := range page.Items {
				c, err := decodeDue(item)
				if err != nil {
					return nil, fmt.Errorf("due configs: %w", err)
				}
				out = append(out, c)
			}
			got += len(page.Items)
			if len(page.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = page.LastEvaluatedKey
		}
	}
	slices.SortFunc(out, func(a, b *storageconfig.Config) int {
		return cmp.Or(a.NextReverifyAt.Compare(b.NextReverifyAt), cmp.Compare(a.UID, b.UID))
	})
	return out[:min(len(out), limit)], nil
}

// ClaimDue is one conditional UpdateItem: it sets next_reverify_at and
// gsi2sk and adds 1 to version if the stored next_reverify_at is the
// expected one (and org and interval agree). When the condition fails, the
// stored item (ALL_OLD) tells NotFound from ErrConflict.
func (s *Store) ClaimDue(ctx context.Context, c *storageconfig.Config, expectedNext, newNext time.Time) error {
	if err := store.ValidateClaim(expectedNext, newNext); err != nil {
		return fmt.Errorf("claim config %s: %w", c.UID, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           s.table,
		Key:                 configKey(c.UID),
		UpdateExpression:    aws.String("SET #next = :new, #gpk = :gpk, #gsk = :gsk ADD #version :one"),
		ConditionExpression: aws.String("#org = :org AND #next = :expected AND #interval > :zero"),
		ExpressionAttributeNames: map[string]string{
			"#next": attrNextReverifyAt, "#gpk": attrGSI2PK, "#gsk": attrGSI2SK, "#version": attrVersion,
			"#org": attrOrgID, "#interval": attrReverifyInterval,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": micros(newNext), ":gpk": str(dueShard(c.UID)), ":gsk": str(sortPosition(newNext, c.UID)),
			":one": num(1), ":org": num(c.OrgID), ":expected": micros(expectedNext), ":zero": num(0),
		},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, failed := conditionFailed(err); failed {
		r := reader{item: old}
		if old == nil || r.num(attrOrgID) != c.OrgID || r.err != nil {
			return fmt.Errorf("claim config %s: %w", c.UID, notFound("storage config not found"))
		}
		return store.ClaimConflict(c.UID)
	}
	if err != nil {
		return fmt.Errorf("claim config %s: %w", c.UID, classify(ctx, err))
	}
	r := reader{item: out.Attributes}
	version := r.num(attrVersion)
	if r.err != nil {
		return fmt.Errorf("claim config %s: %w", c.UID, r.err)
	}
	c.NextReverifyAt, c.Version = newNext.UTC().Truncate(time.Microsecond), version
	return nil
}

// History entries live in their config's item collection: pk CONFIG#<uid>,
// sk HIST#<seq, 20 digits>, so that one Query reads a page of them.
const prefixHistory = "HIST#"

// Attributes of a history entry besides its keys.
const (
	attrSeq      = "seq"
	attrAt       = "at"
	attrVerified = "verified"
	attrTrigger  = "trigger"
	attrChecks   = "checks"
)

func historySK(seq int64) string { return fmt.Sprintf("%s%020d", prefixHistory, seq) }

func historyKey(uid string, seq int64) map[string]types.AttributeValue {
	return key(prefixConfig+uid, historySK(seq))
}

// appendAttempts bounds the retries of an append that lost the race for
// its sequence number to another append.
const appendAttempts = 5

// AppendVerification reads the config's newest sequence number (a Query of
// one key, strongly consistent), then writes in one transaction: a check
// that the config exists in orgID, the entry at the next number if that
// number is free, and the delete of the entry MaxHistory numbers older.
// Losing the number to a concurrent append starts over.
func (s *Store) AppendVerification(ctx context.Context, orgID int64, uid string, v store.VerificationEntry) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("append verification of %s: %w", uid, err)
	}
	checks, err := json.Marshal(nonNil(v.Checks))
	if err != nil {
		return fmt.Errorf("append verification of %s: encode checks: %w", uid, err)
	}
	for attempt := 1; ; attempt++ {
		last, err := s.lastSeq(ctx, uid)
		if err != nil {
			return fmt.Errorf("append verification of %s: %w", uid, err)
		}
		seq := last + 1
		item := historyKey(uid, seq)
		item[attrType] = str("verification_entry")
		item[attrOrgID] = num(orgID)
		item[attrSeq] = num(seq)
		item[attrAt] = micros(v.At)
		item[attrVerified] = boolean(v.Verified)
		item[attrTrigger] = str(string(v.Trigger))
		item[attrChecks] = str(string(checks))
		items := []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{
				TableName:                 s.table,
				Key:                       configKey(uid),
				ConditionExpression:       aws.String("#org = :org"),
				ExpressionAttributeNames:  map[string]string{"#org": attrOrgID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":org": num(orgID)},
			}},
			putNew(s.table, item),
		}
		if old := seq - store.MaxHistory; old > 0 {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: s.table, Key: historyKey(uid, old)}})
		}
		reasons, err := s.transact(ctx, items...)
		switch {
		case err != nil:
			return fmt.Errorf("append verification of %s: %w", uid, err)
		case reasons == nil:
			return nil
		case reasons[0] == reasonConditionFailed:
			return fmt.Errorf("append verification of %s: %w", uid, notFound("storage config not found"))
		case attempt == appendAttempts:
			return fmt.Errorf("append verification of %s: %w", uid,
				errcode.New(errcode.Unavailable, "sequence number taken by concurrent appends %d times", attempt))
		}
	}
}

// lastSeq returns the sequence number of the config's newest history
// entry, 0 when it has none.
func (s *Store) lastSeq(ctx context.Context, uid string) (int64, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :hist)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(prefixConfig + uid), ":hist": str(prefixHistory),
		},
		ProjectionExpression: aws.String("#sk"),
		ScanIndexForward:     aws.Bool(false),
		Limit:                aws.Int32(1),
		ConsistentRead:       aws.Bool(true),
	})
	if err != nil {
		return 0, classify(ctx, err)
	}
	if len(out.Items) == 0 {
		return 0, nil
	}
	r := reader{item: out.Items[0]}
	sk := r.str(attrSK)
	if r.err != nil {
		return 0, r.err
	}
	seq, err := strconv.ParseInt(sk[len(prefixHistory):], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("history sort key %q: %w", sk, err)
	}
	return seq, nil
}

// nonNil stores no checks as [] rather than null.
func nonNil(checks []verification.Check) []verification.Check {
	if checks == nil {
		return []verification.Check{}
	}
	return checks
}
