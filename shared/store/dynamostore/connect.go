package dynamostore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Connect sessions: pk CONNECT#<hex sha-256 of the token>, sk CONNECT.
const (
	prefixConnect = "CONNECT#"
	skConnect     = "CONNECT"

	attrPurpose    = "purpose"
	attrCreatedBy  = "created_by"
	attrValidUntil = "valid_until" // the session's expiry, microseconds
	attrUsedAt     = "used_at"
	attrConfigUID  = "config_uid"
)

// connectRetention is how long after its expiry DynamoDB's time to live
// deletes a session item: kept a day, so that a late use answers "expired"
// rather than "unknown".
const connectRetention = 24 * time.Hour

func connectKey(hash [32]byte) map[string]types.AttributeValue {
	return key(prefixConnect+hex.EncodeToString(hash[:]), skConnect)
}

// CreateConnectSession writes the session item, conditional on its hash
// being free, with a check that the org exists.
func (s *Store) CreateConnectSession(ctx context.Context, cs *connect.Session) error {
	item := connectKey(cs.Hash)
	item[attrType] = str("connect-session")
	item[attrID] = str(cs.ID)
	item[attrOrgID] = num(cs.OrgID)
	item[attrPurpose] = str(string(cs.Purpose))
	item[attrCreatedBy] = str(cs.CreatedBy)
	item[attrCreatedAt] = micros(cs.CreatedAt)
	item[attrValidUntil] = micros(cs.ExpiresAt)
	item[TTLAttribute] = num(cs.ExpiresAt.Add(connectRetention).Unix())
	putOptionalTime(item, attrUsedAt, cs.UsedAt)
	if cs.ConfigUID != "" {
		item[attrConfigUID] = str(cs.ConfigUID)
	}
	reasons, err := s.transact(ctx, putNew(s.table, item), mustExist(s.table, key(orgPK(cs.OrgID), skOrg)))
	switch {
	case err != nil:
		return fmt.Errorf("create connect session %s: %w", cs.ID, err)
	case reasons == nil:
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("create connect session %s: %w", cs.ID, alreadyExists("connect session hash is taken"))
	default:
		return fmt.Errorf("create connect session %s: %w", cs.ID, notFound("org %d not found", cs.OrgID))
	}
}

// GetConnectSession reads the session item (strongly consistent). An item
// that time to live has not deleted yet is returned as it is: its expiry
// is what tells.
func (s *Store) GetConnectSession(ctx context.Context, hash [32]byte) (*connect.Session, error) {
	id := connect.SessionID(hash)
	item, err := s.get(ctx, connectKey(hash))
	if err != nil {
		return nil, fmt.Errorf("get connect session %s: %w", id, err)
	}
	if item == nil {
		return nil, fmt.Errorf("get connect session %s: %w", id, notFound("connect session not found"))
	}
	r := reader{item: item}
	cs := &connect.Session{
		ID:        r.str(attrID),
		Hash:      hash,
		OrgID:     r.num(attrOrgID),
		Purpose:   connect.Purpose(r.str(attrPurpose)),
		CreatedBy: r.str(attrCreatedBy),
		CreatedAt: r.time(attrCreatedAt),
		ExpiresAt: r.time(attrValidUntil),
		UsedAt:    r.optionalTime(attrUsedAt),
	}
	if v, ok := item[attrConfigUID].(*types.AttributeValueMemberS); ok {
		cs.ConfigUID = v.Value
	}
	if r.err != nil {
		return nil, fmt.Errorf("get connect session %s: decode: %w", id, r.err)
	}
	return cs, nil
}

// CreateConfigForSession writes, in one transaction, the update that marks
// the session used (conditional on its being unused, unexpired at now, of
// c's org and for a create), the config item and its id alias: a failed
// condition writes none of them. The id comes from the counter first, as
// in CreateConfig; a create that fails leaves it consumed.
func (s *Store) CreateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error {
	sid := connect.SessionID(hash)
	id, err := s.next(ctx, counterConfig)
	if err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	withID := *c
	withID.ID = id
	alias := configIDKey(id)
	alias[attrUID] = str(c.UID)
	alias[attrOrgID] = num(c.OrgID)
	use := s.useSession(hash, now, c, connect.PurposeCreate)
	item, err := configItem(&withID, c.Version)
	if err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	reasons, err := s.transact(ctx, use, putNew(s.table, item), putNew(s.table, alias))
	switch {
	case err != nil:
		return fmt.Errorf("create config %s: %w", c.UID, err)
	case reasons == nil:
		c.ID = id
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("create config %s: connect session %s is used, expired or of another org or purpose: %w",
			c.UID, sid, errcode.ErrConflict)
	case reasons[1] == reasonConditionFailed:
		return fmt.Errorf("create config %s: %w", c.UID, alreadyExists("storage config already exists"))
	default:
		return fmt.Errorf("create config %s: %w", c.UID, alreadyExists("storage config id %s is taken", strconv.FormatInt(id, 10)))
	}
}

// UpdateConfigForSession writes, in one transaction, the update that marks
// the rotate session used (conditional on its being unused, unexpired at
// now, of c's org, for a rotation and for c.UID) and the config item
// (conditional on its org and version, as UpdateConfig): a failed
// condition writes neither.
func (s *Store) UpdateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error {
	sid := connect.SessionID(hash)
	item, err := configItem(c, c.Version+1)
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, err)
	}
	use := s.useSession(hash, now, c, connect.PurposeRotate)
	put := types.TransactWriteItem{Put: &types.Put{
		TableName:                 s.table,
		Item:                      item,
		ConditionExpression:       aws.String("#org = :org AND #version = :version"),
		ExpressionAttributeNames:  map[string]string{"#org": attrOrgID, "#version": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":org": num(c.OrgID), ":version": num(c.Version)},
	}}
	reasons, err := s.transact(ctx, use, put)
	switch {
	case err != nil:
		return fmt.Errorf("update config %s: %w", c.UID, err)
	case reasons == nil:
		c.Version++
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("update config %s: connect session %s is used, expired or not for this config: %w",
			c.UID, sid, errcode.ErrConflict)
	}
	// The config's condition failed: missing, of another org, or newer.
	old, err := s.get(ctx, configKey(c.UID))
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, err)
	}
	return fmt.Errorf("update config %s: %w", c.UID, updateFailure(c, old))
}

// useSession is the transaction item that marks the session with hash
// used at now, conditional on its being unused, unexpired at now, of c's
// org and for purpose. A create session records c as the config it made;
// a rotate session must be for c.
func (s *Store) useSession(hash [32]byte, now time.Time, c *storageconfig.Config, purpose connect.Purpose) types.TransactWriteItem {
	set, cond := "SET #used = :now, #cfg = :uid", ""
	if purpose == connect.PurposeRotate {
		set, cond = "SET #used = :now", " AND #cfg = :uid"
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:        s.table,
		Key:              connectKey(hash),
		UpdateExpression: aws.String(set),
		ConditionExpression: aws.String("attribute_exists(#pk) AND attribute_not_exists(#used) AND " +
			"#until > :now AND #org = :org AND #purpose = :purpose" + cond),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#used": attrUsedAt, "#cfg": attrConfigUID, "#until": attrValidUntil,
			"#org": attrOrgID, "#purpose": attrPurpose,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": micros(now), ":uid": str(c.UID), ":org": num(c.OrgID), ":purpose": str(string(purpose)),
		},
	}}
}
