// Package dynamolimit is the ratelimit.Limiter of the AWS deployment: the
// token buckets of every function instance in the one DynamoDB table
// (infra/dynamodb.md, "Rate-limit buckets").
//
// A bucket is one item, pk RATE#<key id>#<class>, sk RATE, holding the
// bucket's TAT (ratelimit.Rate.Admit) as tat_us, Unix microseconds, and
// expires_at, the table's TTL attribute, in seconds: no earlier than the
// TAT, when the bucket is full again and the item means nothing. DynamoDB
// deletes it some time after; until then a passed TAT reads as full.
//
// A request is one UpdateItem with a condition, never a read:
//
//   - a full bucket (no item, or a TAT not after now):
//     SET tat_us = :now + T IF attribute_not_exists(tat_us) OR tat_us <= :now
//   - a bucket being drained: SET tat_us = tat_us + T
//     IF tat_us > :now AND tat_us <= :now + (Burst-1)·T
//
// each also setting expires_at and type, with ReturnValues UPDATED_NEW (the
// new TAT, for the headers) and ReturnValuesOnConditionCheckFailure
// ALL_OLD. The two cases need two expressions (an update expression has
// no max), so the limiter guesses the case from the last TAT this process
// saw for the bucket (a bounded map of hints). When the guess is wrong, the
// condition fails and returns the item: the request is then refused with
// no second write if the bucket is empty, or the other expression is sent.
// A second UpdateItem happens only when another instance moved the bucket
// from full to draining since this one last saw it. A TAT only grows, so a
// hint that already refuses the request refuses it without a write: a
// client hammering an instance that throttles it costs no writes.
package dynamolimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/ratelimit"
)

// The item's keys and attributes.
const (
	PKPrefix = "RATE#"
	SK       = "RATE"

	attrTAT     = "tat_us"
	attrExpires = "expires_at"
	attrType    = "type"
	itemType    = "rate_limit"
)

// DefaultTimeout bounds one Take when Options.Timeout is zero: DynamoDB
// answers in milliseconds, and a limiter that cannot must not hold up the
// request it would let through anyway.
const DefaultTimeout = time.Second

// maxHints is how many buckets' last TATs a Limiter remembers; past it,
// it forgets them all (a wrong guess costs one more UpdateItem).
const maxHints = 10_000

// maxAttempts bounds the UpdateItems of one Take: each retry follows a
// failed condition that returned a newer item, i.e. another instance's
// concurrent take.
const maxAttempts = 4

// UpdateItemAPI is the part of the DynamoDB client the limiter uses.
type UpdateItemAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Options change a Limiter's defaults.
type Options struct {
	// Timeout bounds one Take (default DefaultTimeout).
	Timeout time.Duration
}

// Limiter keeps token buckets in a DynamoDB table.
type Limiter struct {
	client  UpdateItemAPI
	table   *string
	limits  ratelimit.Limits
	timeout time.Duration

	mu    sync.Mutex
	hints map[string]int64 // pk -> last TAT seen, µs
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter on table (the store's table: dynamostore's schema,
// with TTL on expires_at), with limits, which must be valid.
func New(client UpdateItemAPI, table string, limits ratelimit.Limits, opts Options) (*Limiter, error) {
	if err := limits.Validate(); err != nil {
		return nil, fmt.Errorf("dynamolimit: %w", err)
	}
	if table == "" {
		return nil, errors.New("dynamolimit: no table")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Limiter{client: client, table: aws.String(table), limits: limits, timeout: opts.Timeout, hints: map[string]int64{}}, nil
}

// PK is the partition key of the bucket of (key, class).
func PK(key string, class ratelimit.Class) string { return PKPrefix + key + "#" + string(class) }

// Take implements ratelimit.Limiter.
func (l *Limiter) Take(ctx context.Context, key string, class ratelimit.Class, now time.Time) (ratelimit.Decision, error) {
	rate := l.limits.Of(class)
	if rate.Off() {
		return ratelimit.Unlimited, nil
	}
	if key == "" {
		return ratelimit.Decision{}, ratelimit.ErrNoKey
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	pk := PK(key, class)
	tat := l.hint(pk)
	for range maxAttempts {
		d, _ := rate.Admit(tat, now)
		if !d.Allowed {
			return d, nil
		}
		next, old, err := l.update(ctx, pk, rate, now, tat.After(now))
		switch {
		case err != nil:
			return ratelimit.Decision{}, fmt.Errorf("dynamolimit: take %s: %w", pk, err)
		case old != nil:
			tat = *old // the condition failed: decide again on the stored TAT
			l.remember(pk, tat)
			continue
		}
		l.remember(pk, next)
		return rate.AdmittedAt(next, now), nil
	}
	return ratelimit.Decision{}, fmt.Errorf("dynamolimit: take %s: %d conditional updates lost to concurrent takes", pk, maxAttempts)
}

// update sends the UpdateItem of a full bucket, or of a draining one. It
// returns the new TAT, or, when the condition failed, the stored TAT (the
// zero time for no item).
func (l *Limiter) update(ctx context.Context, pk string, rate ratelimit.Rate, now time.Time, draining bool) (time.Time, *time.Time, error) {
	t := max(rate.Interval().Microseconds(), 1)
	nowUS := now.UnixMicro()
	in := &dynamodb.UpdateItemInput{
		TableName: l.table,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: SK},
		},
		ExpressionAttributeNames:            map[string]string{"#tat": attrTAT, "#exp": attrExpires, "#type": attrType},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if draining {
		// The new TAT is at most now + Burst·T: expire then.
		in.UpdateExpression = aws.String("SET #tat = #tat + :t, #exp = :exp, #type = :type")
		in.ConditionExpression = aws.String("#tat > :now AND #tat <= :lim")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":t":    number(t),
			":now":  number(nowUS),
			":lim":  number(nowUS + int64(rate.Burst-1)*t),
			":exp":  number(ceilSeconds(nowUS + int64(rate.Burst)*t)),
			":type": &types.AttributeValueMemberS{Value: itemType},
		}
	} else {
		in.UpdateExpression = aws.String("SET #tat = :next, #exp = :exp, #type = :type")
		in.ConditionExpression = aws.String("attribute_not_exists(#tat) OR #tat <= :now")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":next": number(nowUS + t),
			":now":  number(nowUS),
			":exp":  number(ceilSeconds(nowUS + t)),
			":type": &types.AttributeValueMemberS{Value: itemType},
		}
	}
	out, err := l.client.UpdateItem(ctx, in)
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return time.Time{}, nil, err
		}
		old, err := tatOf(ccf.Item)
		if err != nil {
			return time.Time{}, nil, err
		}
		return time.Time{}, &old, nil
	}
	next, err := tatOf(out.Attributes)
	if err != nil {
		return time.Time{}, nil, err
	}
	if next.IsZero() {
		return time.Time{}, nil, errors.New("the update returned no " + attrTAT)
	}
	return next, nil, nil
}

// tatOf reads tat_us of an item; the zero time when there is none.
func tatOf(item map[string]types.AttributeValue) (time.Time, error) {
	v, ok := item[attrTAT]
	if !ok {
		return time.Time{}, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is a %T, not a number", attrTAT, v)
	}
	us, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", attrTAT, n.Value, err)
	}
	return time.UnixMicro(us).UTC(), nil
}

func (l *Limiter) hint(pk string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if us, ok := l.hints[pk]; ok {
		return time.UnixMicro(us).UTC()
	}
	return time.Time{}
}

// remember keeps the newest TAT seen of pk.
func (l *Limiter) remember(pk string, tat time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tat.IsZero() {
		delete(l.hints, pk)
		return
	}
	if len(l.hints) >= maxHints {
		clear(l.hints)
	}
	if us := tat.UnixMicro(); us > l.hints[pk] {
		l.hints[pk] = us
	}
}

func number(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// ceilSeconds is us in whole seconds, rounded up.
func ceilSeconds(us int64) int64 { return (us + 999_999) / 1_000_000 }
