package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/backoff"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
)

var _ store.VerificationSlots = (*Store)(nil)

// The slots item of an org: pk VSLOTS#<org id>, sk VSLOTS, and slots, a map
// of record key to the Unix microseconds its slot lasts until
// (infra/dynamodb.md). Its own partition key lets IAM grant UpdateItem on
// slots items only (dynamodb:LeadingKeys VSLOTS#*).
const (
	prefixSlots = "VSLOTS#"
	skSlots     = "VSLOTS"
	attrSlots   = "slots"
)

// slotAttempts bounds the rounds of AcquireVerificationSlot that lose a
// race on the item (another acquisition pruned or filled it meanwhile).
const slotAttempts = 8

func slotsKey(orgID int64) map[string]types.AttributeValue {
	return key(prefixSlots+strconv.FormatInt(orgID, 10), skSlots)
}

// AcquireVerificationSlot takes a slot of orgID for key. The usual case is
// one UpdateItem: SET slots.#k if the map has room and no entry for key.
// When that condition fails, the item returned with the failure (ALL_OLD,
// no extra read) says why: no item yet (create it), a live slot of key
// (keep it), the limit reached by live slots (ErrAtCapacity), or room
// held by expired slots, which the next UpdateItem removes while it adds
// key, on condition that they are still the same.
func (s *Store) AcquireVerificationSlot(ctx context.Context, orgID int64, key string, now, until time.Time, limit int) (bool, error) {
	if err := store.ValidateSlot(key, until, limit); err != nil {
		return false, fmt.Errorf("acquire verification slot: %w", err)
	}
	taken, err := s.acquireSlot(ctx, orgID, key, now.UnixMicro(), until.UnixMicro(), limit)
	if err != nil {
		return false, fmt.Errorf("acquire verification slot of org %d: %w", orgID, err)
	}
	return taken, nil
}

func (s *Store) acquireSlot(ctx context.Context, orgID int64, key string, now, until int64, limit int) (bool, error) {
	// Fast path: room in the map (expired entries count until pruned).
	old, ok, err := s.updateSlots(ctx, orgID,
		"SET #slots.#k = :until",
		"attribute_exists(#slots) AND size(#slots) < :limit AND attribute_not_exists(#slots.#k)",
		map[string]string{"#k": key},
		map[string]types.AttributeValue{":until": num(until), ":limit": num(int64(limit))})
	for attempt := 1; ; attempt++ {
		switch {
		case err != nil:
			return false, err
		case ok:
			return true, nil
		case attempt > slotAttempts:
			return false, errcode.New(errcode.Unavailable, "verification slots of org %d: lost %d races in a row", orgID, slotAttempts)
		}
		if attempt > 1 {
			if err := jitter(ctx, attempt); err != nil {
				return false, err
			}
		}
		if old == nil {
			old, ok, err = s.createSlots(ctx, orgID, key, until)
			continue
		}
		slots, derr := decodeSlots(old)
		if derr != nil {
			return false, derr
		}
		if held, live := slots[key]; live && held > now {
			return false, s.extendSlot(ctx, orgID, key, held, until)
		}
		old, ok, err = s.pruneAndTake(ctx, orgID, key, now, until, limit, slots)
	}
}

// createSlots creates the org's item holding key's slot; ok is false (with
// the stored item) when another writer created it first.
func (s *Store) createSlots(ctx context.Context, orgID int64, key string, until int64) (map[string]types.AttributeValue, bool, error) {
	item := slotsKey(orgID)
	item[attrType] = str("verification slots")
	item[attrSlots] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{key: num(until)}}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           s.table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, failed := conditionFailed(err); failed {
		return old, false, nil
	}
	if err != nil {
		return nil, false, classify(ctx, err)
	}
	return nil, true, nil
}

// pruneAndTake adds key's slot while removing the slots that have expired
// at now, if the live ones leave room; slots is the map as last read.
func (s *Store) pruneAndTake(ctx context.Context, orgID int64, key string, now, until int64, limit int, slots map[string]int64) (map[string]types.AttributeValue, bool, error) {
	names := map[string]string{"#k": key}
	values := map[string]types.AttributeValue{":until": num(until)}
	var removes, conds []string
	live := 0
	_, keyPresent := slots[key]
	for k, u := range slots {
		switch {
		case u > now:
			live++
		case k == key:
			// Expired and ours: overwritten by the SET, if unchanged.
			values[":kold"] = num(u)
			conds = append(conds, "#slots.#k = :kold")
		default:
			n := strconv.Itoa(len(removes))
			names["#e"+n], values[":e"+n] = k, num(u)
			removes = append(removes, "#slots.#e"+n)
			conds = append(conds, "#slots.#e"+n+" = :e"+n)
		}
	}
	if live >= limit {
		return nil, false, fmt.Errorf("%d of %d slots held: %w", live, limit, store.ErrAtCapacity)
	}
	if !keyPresent {
		conds = append(conds, "attribute_not_exists(#slots.#k)")
	}
	// Nothing else may have joined the map since it was read: its size
	// is still what was read.
	values[":size"] = num(int64(len(slots)))
	conds = append(conds, "size(#slots) = :size")
	update := "SET #slots.#k = :until"
	if len(removes) > 0 {
		update += " REMOVE " + strings.Join(removes, ", ")
	}
	return s.updateSlots(ctx, orgID, update, strings.Join(conds, " AND "), names, values)
}

// extendSlot moves the end of key's live slot from held to until when
// until is later. Losing the race to another writer is fine: the slot is
// live either way.
func (s *Store) extendSlot(ctx context.Context, orgID int64, key string, held, until int64) error {
	if until <= held {
		return nil
	}
	_, _, err := s.updateSlots(ctx, orgID, "SET #slots.#k = :until", "#slots.#k = :held",
		map[string]string{"#k": key}, map[string]types.AttributeValue{":until": num(until), ":held": num(held)})
	return err
}

// updateSlots runs one conditional UpdateItem on the org's slots item. ok
// reports whether the condition held; when it did not, old is the stored
// item (nil when there is none).
func (s *Store) updateSlots(ctx context.Context, orgID int64, update, cond string, names map[string]string, values map[string]types.AttributeValue) (old map[string]types.AttributeValue, ok bool, err error) {
	names["#slots"] = attrSlots
	if len(values) == 0 {
		values = nil // DynamoDB refuses an empty map
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           s.table,
		Key:                                 slotsKey(orgID),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, failed := conditionFailed(err); failed {
		return old, false, nil
	}
	if err != nil {
		return nil, false, classify(ctx, err)
	}
	return nil, true, nil
}

// decodeSlots reads the slots map of an item.
func decodeSlots(item map[string]types.AttributeValue) (map[string]int64, error) {
	m, ok := item[attrSlots].(*types.AttributeValueMemberM)
	if !ok {
		return nil, errors.New("decode verification slots: attribute slots missing or not a map")
	}
	out := make(map[string]int64, len(m.Value))
	for k, v := range m.Value {
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return nil, fmt.Errorf("decode verification slots: entry is not a number")
		}
		u, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode verification slots: entry is not an integer")
		}
		out[k] = u
	}
	return out, nil
}

// jitter waits a few milliseconds, more for later attempts, so that racing
// acquisitions spread out.
func jitter(ctx context.Context, attempt int) error {
	return backoff.Sleep(ctx, time.Duration(rand.IntN(5*attempt)+1)*time.Millisecond)
}

// ReleaseVerificationSlot removes key from the org's map: one UpdateItem,
// conditional on the item existing (so a release never creates one).
func (s *Store) ReleaseVerificationSlot(ctx context.Context, orgID int64, key string) error {
	_, _, err := s.updateSlots(ctx, orgID, "REMOVE #slots.#k", "attribute_exists(#slots)",
		map[string]string{"#k": key}, nil)
	if err != nil {
		return fmt.Errorf("release verification slot of org %d: %w", orgID, err)
	}
	return nil
}

// CountVerificationSlots reads the org's item (one strongly consistent
// GetItem) and counts the live slots.
func (s *Store) CountVerificationSlots(ctx context.Context, orgID int64, now time.Time) (int, error) {
	item, err := s.get(ctx, slotsKey(orgID))
	if err != nil {
		return 0, fmt.Errorf("count verification slots of org %d: %w", orgID, err)
	}
	if item == nil {
		return 0, nil
	}
	slots, err := decodeSlots(item)
	if err != nil {
		return 0, fmt.Errorf("count verification slots of org %d: %w", orgID, err)
	}
	n := 0
	for _, u := range slots {
		if u > now.UnixMicro() {
			n++
		}
	}
	return n, nil
}
