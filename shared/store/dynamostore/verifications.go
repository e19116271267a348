package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

var _ store.Verifications = (*Store)(nil)

// The verification item: pk VERIFY#<key>, sk VERIFY (infra/dynamodb.md).
const (
	prefixVerification = "VERIFY#"
	skVerification     = "VERIFY"
)

// Attributes of a verification item besides its keys and those it shares
// with configs (org_id, version, sealed, created_at).
const (
	attrKey          = "key"
	attrState        = "state"
	attrStatusSince  = "status_since"
	attrAttempts     = "attempts"
	attrDeadline     = "deadline"
	attrLeaseOwner   = "lease_owner"
	attrLeaseUntil   = "lease_until"
	attrRequest      = "request"
	attrEvents       = "events"
	attrResult       = "result"
	attrExpiresMicro = "expires_at_us"
	// TTLAttribute (expires_at) holds ExpiresAt in seconds, rounded up so
	// that DynamoDB never deletes a record before it expires.
)

func verificationKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(prefixVerification + key), attrSK: str(skVerification)}
}

// verificationItem returns the whole item of r, with version as its
// version. The request, the history and the result are JSON documents.
func verificationItem(r *verification.Record, version int64) (map[string]types.AttributeValue, error) {
	req, err := json.Marshal(r.Request)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	events := make([]verification.Event, len(r.Events))
	for i, e := range r.Events {
		e.At = e.At.UTC().Truncate(time.Microsecond)
		events[i] = e
	}
	ev, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("encode events: %w", err)
	}
	res, err := json.Marshal(r.Result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	item := verificationKey(r.Key)
	item[attrType] = str("verification")
	item[attrKey] = str(r.Key)
	item[attrOrgID] = num(r.OrgID)
	item[attrState] = str(string(r.State))
	item[attrStatusSince] = micros(r.StatusSince)
	item[attrAttempts] = num(int64(r.Attempts))
	item[attrDeadline] = micros(r.Deadline)
	if r.Lease.Owner != "" {
		item[attrLeaseOwner] = str(r.Lease.Owner)
	}
	putOptionalTime(item, attrLeaseUntil, r.Lease.Until)
	item[attrRequest] = str(string(req))
	if len(r.Sealed) > 0 {
		item[attrSealed] = bin(r.Sealed)
	}
	item[attrEvents] = str(string(ev))
	item[attrResult] = str(string(res))
	item[attrVersion] = num(version)
	item[TTLAttribute] = num(ttlSeconds(r.ExpiresAt))
	item[attrExpiresMicro] = micros(r.ExpiresAt)
	item[attrCreatedAt] = micros(r.CreatedAt)
	return item, nil
}

// ttlSeconds is t in seconds since the epoch, rounded up.
func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// decodeVerification is the inverse of verificationItem.
func decodeVerification(item map[string]types.AttributeValue) (*verification.Record, error) {
	rd := reader{item: item}
	r := &verification.Record{
		Key:         rd.str(attrKey),
		OrgID:       rd.num(attrOrgID),
		State:       verification.State(rd.str(attrState)),
		StatusSince: rd.time(attrStatusSince),
		Attempts:    int(rd.num(attrAttempts)),
		Deadline:    rd.time(attrDeadline),
		Lease:       verification.Lease{Owner: rd.optionalStr(attrLeaseOwner), Until: rd.optionalTime(attrLeaseUntil)},
		Sealed:      rd.optionalBytes(attrSealed),
		Version:     rd.num(attrVersion),
		ExpiresAt:   rd.time(attrExpiresMicro),
		CreatedAt:   rd.time(attrCreatedAt),
	}
	req, events, result := rd.str(attrRequest), rd.str(attrEvents), rd.str(attrResult)
	if rd.err != nil {
		return nil, fmt.Errorf("decode verification item: %w", rd.err)
	}
	if err := json.Unmarshal([]byte(req), &r.Request); err != nil {
		return nil, fmt.Errorf("decode verification item: request: %w", err)
	}
	if err := json.Unmarshal([]byte(events), &r.Events); err != nil {
		return nil, fmt.Errorf("decode verification item: events: %w", err)
	}
	if err := json.Unmarshal([]byte(result), &r.Result); err != nil {
		return nil, fmt.Errorf("decode verification item: result: %w", err)
	}
	return r, nil
}

// optionalStr returns a string attribute, or "" when it is absent.
func (r *reader) optionalStr(name string) string {
	if _, present := r.item[name]; !present {
		return ""
	}
	return r.str(name)
}

// CreateVerification stores r as given, unless a live record has its key:
// one PutItem conditional on no item, or an expired one that TTL has not
// deleted yet.
func (s *Store) CreateVerification(ctx context.Context, r *verification.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("create verification: %w", errcode.Wrap(errcode.InvalidArgument, err, "invalid record"))
	}
	item, err := verificationItem(r, r.Version)
	if err != nil {
		return fmt.Errorf("create verification %s: %w", r.Key, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": attrExpiresMicro},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": micros(time.Now())},
	})
	if _, failed := conditionFailed(err); failed {
		return fmt.Errorf("create verification %s: %w", r.Key, alreadyExists("verification already exists"))
	}
	if err != nil {
		return fmt.Errorf("create verification %s: %w", r.Key, classify(ctx, err))
	}
	return nil
}

// GetVerification returns the live record with key: one strongly
// consistent GetItem. An item past its expiry that TTL has not deleted
// yet is NotFound.
func (s *Store) GetVerification(ctx context.Context, key string) (*verification.Record, error) {
	item, err := s.get(ctx, verificationKey(key))
	if err != nil {
		return nil, fmt.Errorf("get verification %s: %w", key, err)
	}
	if item == nil {
		return nil, fmt.Errorf("get verification %s: %w", key, notFound("verification not found"))
	}
	r, err := decodeVerification(item)
	if err != nil {
		return nil, fmt.Errorf("get verification %s: %w", key, err)
	}
	if !r.ExpiresAt.After(time.Now()) {
		return nil, fmt.Errorf("get verification %s: %w", key, notFound("verification not found"))
	}
	return r, nil
}

// UpdateVerification overwrites the record if its stored version equals
// r.Version, and then sets r.Version to r.Version+1: one conditional
// PutItem.
func (s *Store) UpdateVerification(ctx context.Context, r *verification.Record) error {
	if err := s.putVerification(ctx, r, r.Version); err != nil {
		return fmt.Errorf("update verification %s: %w", r.Key, err)
	}
	return nil
}

// ReplaceVerification overwrites the record at expectedVersion with the
// new record r, and then sets r.Version to expectedVersion+1: one
// conditional PutItem.
func (s *Store) ReplaceVerification(ctx context.Context, r *verification.Record, expectedVersion int64) error {
	if err := s.putVerification(ctx, r, expectedVersion); err != nil {
		return fmt.Errorf("replace verification %s: %w", r.Key, err)
	}
	return nil
}

// putVerification writes r over the live record with r.Key at version
// expected, as version expected+1, and sets r.Version to that. When the
// condition fails, the stored item returned with the failure (ALL_OLD)
// tells a missing or expired record (NotFound) from a newer version
// (Conflict).
func (s *Store) putVerification(ctx context.Context, r *verification.Record, expected int64) error {
	next := *r
	next.Version = expected + 1
	if err := next.Validate(); err != nil {
		return errcode.Wrap(errcode.InvalidArgument, err, "invalid record")
	}
	item, err := verificationItem(&next, next.Version)
	if err != nil {
		return err
	}
	now := time.Now()
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                s.table,
		Item:                     item,
		ConditionExpression:      aws.String("#version = :version AND #exp > :now"),
		ExpressionAttributeNames: map[string]string{"#version": attrVersion, "#exp": attrExpiresMicro},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":version": num(expected), ":now": micros(now),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, failed := conditionFailed(err); failed {
		return putVerificationFailure(old, expected, now)
	}
	if err != nil {
		return classify(ctx, err)
	}
	r.Version = next.Version
	return nil
}

// putVerificationFailure explains a failed put condition from the stored
// item.
func putVerificationFailure(old map[string]types.AttributeValue, expected int64, now time.Time) error {
	if old == nil {
		return notFound("verification not found")
	}
	rd := reader{item: old}
	version, expires := rd.num(attrVersion), rd.time(attrExpiresMicro)
	switch {
	case rd.err != nil:
		return fmt.Errorf("decode stored verification: %w", rd.err)
	case !expires.After(now):
		return notFound("verification not found")
	}
	return errcode.New(errcode.Conflict, "verification changed: version %d, not %d", version, expected)
}

// SweepVerifications deletes nothing and returns 0: the table's TTL on
// expires_at deletes expired records (DynamoDB does so within days, at no
// cost), and until then every method treats them as missing. Nothing scans
// the table. It still honours ctx.
func (s *Store) SweepVerifications(ctx context.Context, _ time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sweep verifications: %w", err)
	}
	return 0, nil
}
