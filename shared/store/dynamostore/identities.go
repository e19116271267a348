package dynamostore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/identity"
)

// Attributes of identity items besides those shared with configs.
const (
	attrID         = "id"
	attrSlug       = "slug"
	attrExternalID = "external_id"
	attrUserID     = "user_id"
	attrRole       = "role"
	attrHash       = "hash"
	attrRevokedAt  = "revoked_at"
	attrNext       = "next"
)

// CreateOrg takes the next org ID from the counter item (an atomic ADD;
// IDs increase and an ID taken by a create that then fails is never
// reused) and writes the org item and its slug item in one transaction,
// each conditional on not existing. A taken slug is AlreadyExists.
func (s *Store) CreateOrg(ctx context.Context, o *identity.Org) error {
	id, err := s.next(ctx, counterOrgID)
	if err != nil {
		return fmt.Errorf("create org %q: %w", o.Slug, err)
	}
	byID := orgItem(o, id, orgPK(id), skOrg)
	bySlug := orgItem(o, id, prefixOrgSlug+o.Slug, skOrgSlug)
	reasons, err := s.transact(ctx, putNew(s.table, byID), putNew(s.table, bySlug))
	if err != nil {
		return fmt.Errorf("create org %q: %w", o.Slug, err)
	}
	switch {
	case reasons == nil:
		o.ID = id
		return nil
	case reasons[1] == reasonConditionFailed:
		return fmt.Errorf("create org %q: %w", o.Slug, alreadyExists("org slug %q is taken", o.Slug))
	default:
		return fmt.Errorf("create org %q: %w", o.Slug, alreadyExists("org id %d is taken", id))
	}
}

// next atomically increments the counter item named counter (an ADD, no
// read) and returns its new value: the next id of that sequence.
func (s *Store) next(ctx context.Context, counter string) (int64, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(counter, skCounter),
		UpdateExpression:          aws.String("ADD #next :one"),
		ExpressionAttributeNames:  map[string]string{"#next": attrNext},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("next %s: %w", counter, classify(ctx, err))
	}
	r := reader{item: out.Attributes}
	id := r.num(attrNext)
	if r.err != nil {
		return 0, fmt.Errorf("next %s: %w", counter, r.err)
	}
	return id, nil
}

// orgItem returns an org item under the given key. The org item and the
// slug item hold the same attributes, so either lookup is one GetItem.
func orgItem(o *identity.Org, id int64, pk, sk string) map[string]types.AttributeValue {
	item := key(pk, sk)
	item[attrType] = str("org")
	item[attrID] = num(id)
	item[attrSlug] = str(o.Slug)
	item[attrName] = str(o.Name)
	item[attrExternalID] = str(o.ExternalID)
	item[attrCreatedAt] = micros(o.CreatedAt)
	return item
}

func decodeOrg(item map[string]types.AttributeValue) (*identity.Org, error) {
	r := reader{item: item}
	o := &identity.Org{
		ID:         r.num(attrID),
		Slug:       r.str(attrSlug),
		Name:       r.str(attrName),
		ExternalID: r.str(attrExternalID),
		CreatedAt:  r.time(attrCreatedAt),
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode org item: %w", r.err)
	}
	return o, nil
}

// GetOrgByID returns the org with that ID.
func (s *Store) GetOrgByID(ctx context.Context, id int64) (*identity.Org, error) {
	o, err := s.getOrg(ctx, key(orgPK(id), skOrg))
	if err != nil {
		return nil, fmt.Errorf("get org %d: %w", id, err)
	}
	return o, nil
}

// GetOrgBySlug returns the org with that slug, from its slug item.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (*identity.Org, error) {
	o, err := s.getOrg(ctx, key(prefixOrgSlug+slug, skOrgSlug))
	if err != nil {
		return nil, fmt.Errorf("get org %q: %w", slug, err)
	}
	return o, nil
}

func (s *Store) getOrg(ctx context.Context, k map[string]types.AttributeValue) (*identity.Org, error) {
	item, err := s.get(ctx, k)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, notFound("org not found")
	}
	return decodeOrg(item)
}

// CreateUser writes the user item and its name item in one transaction,
// each conditional on not existing: a taken ID or name is AlreadyExists.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	byID := userItem(u, prefixUser+u.ID, skUser)
	byName := userItem(u, prefixUserName+u.Name, skUserName)
	reasons, err := s.transact(ctx, putNew(s.table, byID), putNew(s.table, byName))
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	switch {
	case reasons == nil:
		return nil
	case reasons[1] == reasonConditionFailed:
		return fmt.Errorf("create user %q: %w", u.Name, alreadyExists("user name %q is taken", u.Name))
	default:
		return fmt.Errorf("create user %q: %w", u.Name, alreadyExists("user id %s is taken", u.ID))
	}
}

func userItem(u *identity.User, pk, sk string) map[string]types.AttributeValue {
	item := key(pk, sk)
	item[attrType] = str("user")
	item[attrID] = str(u.ID)
	item[attrName] = str(u.Name)
	item[attrCreatedAt] = micros(u.CreatedAt)
	return item
}

// GetUserByName returns the user with that name, from its name item.
func (s *Store) GetUserByName(ctx context.Context, name string) (*identity.User, error) {
	item, err := s.get(ctx, key(prefixUserName+name, skUserName))
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", name, err)
	}
	if item == nil {
		return nil, fmt.Errorf("get user %q: %w", name, notFound("user not found"))
	}
	r := reader{item: item}
	u := &identity.User{ID: r.str(attrID), Name: r.str(attrName), CreatedAt: r.time(attrCreatedAt)}
	if r.err != nil {
		return nil, fmt.Errorf("get user %q: decode user item: %w", name, r.err)
	}
	return u, nil
}

// PutMembership creates or replaces the user's role in the org: a Put of
// the membership item in the user's item collection, in one transaction
// with checks that the user and the org exist (NotFound otherwise).
func (s *Store) PutMembership(ctx context.Context, m identity.Membership) error {
	item := key(prefixUser+m.UserID, prefixMember+strconv.FormatInt(m.OrgID, 10))
	item[attrType] = str("membership")
	item[attrUserID] = str(m.UserID)
	item[attrOrgID] = num(m.OrgID)
	item[attrRole] = str(string(m.Role))
	reasons, err := s.transact(ctx,
		mustExist(s.table, key(prefixUser+m.UserID, skUser)),
		mustExist(s.table, key(orgPK(m.OrgID), skOrg)),
		types.TransactWriteItem{Put: &types.Put{TableName: s.table, Item: item}},
	)
	if err != nil {
		return fmt.Errorf("put membership of user %s in org %d: %w", m.UserID, m.OrgID, err)
	}
	switch {
	case reasons == nil:
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("put membership of user %s in org %d: %w", m.UserID, m.OrgID, notFound("user not found"))
	default:
		return fmt.Errorf("put membership of user %s in org %d: %w", m.UserID, m.OrgID, notFound("org not found"))
	}
}

// ListMemberships returns every membership of a user, ordered by the
// membership sort key: a strongly consistent Query of the user's item
// collection for sort keys beginning MEMBER#. A user with none (or no such
// user) gets an empty list.
func (s *Store) ListMemberships(ctx context.Context, userID string) ([]identity.Membership, error) {
	in := &dynamodb.QueryInput{
		TableName:                s.table,
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :member)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(prefixUser + userID), ":member": str(prefixMember),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []identity.Membership
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list memberships of user %s: %w", userID, classify(ctx, err))
		}
		for _, item := range page.Items {
			r := reader{item: item}
			m := identity.Membership{UserID: r.str(attrUserID), OrgID: r.num(attrOrgID), Role: identity.Role(r.str(attrRole))}
			if r.err != nil {
				return nil, fmt.Errorf("list memberships of user %s: decode membership item: %w", userID, r.err)
			}
			out = append(out, m)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// CreateAPIKey writes the key item (keyed by its hash) and its id item in
// one transaction, each conditional on not existing, with a check that the
// user exists: a taken hash or id is AlreadyExists, a missing user
// NotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k *identity.APIKey) error {
	byHash := key(prefixKey+hex.EncodeToString(k.Hash[:]), skKey)
	byHash[attrType] = str("apikey")
	byHash[attrID] = str(k.ID)
	byHash[attrHash] = bin(k.Hash[:])
	byHash[attrUserID] = str(k.UserID)
	byHash[attrCreatedAt] = micros(k.CreatedAt)
	putOptionalTime(byHash, attrRevokedAt, k.RevokedAt)
	byID := key(prefixKeyID+k.ID, skKeyID)
	byID[attrType] = str("apikey-id")
	byID[attrHash] = bin(k.Hash[:])
	reasons, err := s.transact(ctx,
		putNew(s.table, byHash), putNew(s.table, byID),
		mustExist(s.table, key(prefixUser+k.UserID, skUser)),
	)
	if err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, err)
	}
	switch {
	case reasons == nil:
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("create API key %s: %w", k.ID, alreadyExists("API key hash is taken"))
	case reasons[1] == reasonConditionFailed:
		return fmt.Errorf("create API key %s: %w", k.ID, alreadyExists("API key id is taken"))
	default:
		return fmt.Errorf("create API key %s: %w", k.ID, notFound("user not found"))
	}
}

// GetAPIKeyByHash returns the key with that SHA-256 hash, revoked or not.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash [32]byte) (*identity.APIKey, error) {
	// The hash identifies a secret; errors name only its public id.
	item, err := s.get(ctx, key(prefixKey+hex.EncodeToString(hash[:]), skKey))
	if err != nil {
		return nil, fmt.Errorf("get API key %s: %w", identity.KeyID(hash), err)
	}
	if item == nil {
		return nil, fmt.Errorf("get API key %s: %w", identity.KeyID(hash), notFound("API key not found"))
	}
	r := reader{item: item}
	k := &identity.APIKey{
		ID:        r.str(attrID),
		UserID:    r.str(attrUserID),
		CreatedAt: r.time(attrCreatedAt),
		RevokedAt: r.optionalTime(attrRevokedAt),
	}
	stored := r.optionalBytes(attrHash)
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("get API key %s: decode key item: %w", identity.KeyID(hash), r.err)
	case copy(k.Hash[:], stored) != len(k.Hash) || len(stored) != len(k.Hash):
		return nil, fmt.Errorf("get API key %s: stored hash has %d bytes", k.ID, len(stored))
	}
	return k, nil
}

// RevokeAPIKey marks the key with that id revoked at the given time: it
// reads the id item for the key's hash, then updates the key item,
// conditional on its existing.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	item, err := s.get(ctx, key(prefixKeyID+id, skKeyID))
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if item == nil {
		return fmt.Errorf("revoke API key %s: %w", id, notFound("API key not found"))
	}
	r := reader{item: item}
	hash := r.optionalBytes(attrHash)
	if r.err != nil || len(hash) == 0 {
		return fmt.Errorf("revoke API key %s: id item has no hash", id)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(prefixKey+hex.EncodeToString(hash), skKey),
		UpdateExpression:          aws.String("SET #revoked = :at"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#revoked": attrRevokedAt, "#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": micros(at)},
	})
	if _, failed := conditionFailed(err); failed {
		return fmt.Errorf("revoke API key %s: %w", id, notFound("API key not found"))
	}
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, classify(ctx, err))
	}
	return nil
}
