package dynamostore

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Attributes of a config item besides its keys. The provider's settings
// are one attribute, a JSON document (storageconfig.EncodeSettings): the
// item has no provider attributes.
const (
	attrType           = "type"
	attrUID            = "uid"
	attrOrgID          = "org_id"
	attrName           = "name"
	attrProvider       = "provider"
	attrSettings       = "settings"
	attrIsVerified     = "is_verified"
	attrLastVerifiedAt = "last_verified_at"
	attrCreatedAt      = "created_at"
	attrUpdatedAt      = "updated_at"
	attrVersion        = "version"
	attrSealed         = "sealed"
	// attrCORSOrigins is a list of strings, absent when the config uses
	// the operator's origins (an empty list: none).
	attrCORSOrigins = "cors_origins"
)

// configItem returns the whole item of c, with version as its version.
func configItem(c *storageconfig.Config, version int64) (map[string]types.AttributeValue, error) {
	doc, err := storageconfig.EncodeSettings(c)
	if err != nil {
		return nil, err
	}
	item := configKey(c.UID)
	item[attrGSI1PK] = str(orgPK(c.OrgID))
	item[attrGSI1SK] = str(sortPosition(c.CreatedAt, c.UID))
	item[attrType] = str("config")
	item[attrUID] = str(c.UID)
	if c.ID > 0 {
		item[attrID] = num(c.ID)
	}
	item[attrOrgID] = num(c.OrgID)
	item[attrName] = str(c.Name)
	item[attrProvider] = str(string(c.Provider))
	item[attrSettings] = str(string(doc))
	item[attrIsVerified] = boolean(c.IsVerified)
	putOptionalTime(item, attrLastVerifiedAt, c.LastVerifiedAt)
	item[attrCreatedAt] = micros(c.CreatedAt)
	item[attrUpdatedAt] = micros(c.UpdatedAt)
	item[attrVersion] = num(version)
	if len(c.Sealed) > 0 {
		item[attrSealed] = bin(c.Sealed)
	}
	putSchedule(item, c)
	if c.CORSOrigins != nil {
		l := make([]types.AttributeValue, len(c.CORSOrigins))
		for i, o := range c.CORSOrigins {
			l[i] = str(o)
		}
		item[attrCORSOrigins] = &types.AttributeValueMemberL{Value: l}
	}
	return item, nil
}

// readCORSOrigins is the inverse of configItem's cors_origins.
func readCORSOrigins(r *reader, c *storageconfig.Config) {
	av, ok := r.item[attrCORSOrigins]
	if !ok {
		return
	}
	l, ok := av.(*types.AttributeValueMemberL)
	if !ok {
		r.fail(attrCORSOrigins, "a list")
		return
	}
	c.CORSOrigins = make([]string, 0, len(l.Value))
	for _, v := range l.Value {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			r.fail(attrCORSOrigins, "a list of strings")
			return
		}
		c.CORSOrigins = append(c.CORSOrigins, s.Value)
	}
}

// decodeConfig is the inverse of configItem. An item written before
// settings were one document (each provider field its own attribute,
// named as on the wire) is upgraded as it is read
// (storageconfig.LegacySettings); the next update of the config writes it
// in the new shape.
func decodeConfig(item map[string]types.AttributeValue) (*storageconfig.Config, error) {
	r := reader{item: item}
	c := &storageconfig.Config{
		UID:            r.str(attrUID),
		ID:             r.optionalNum(attrID),
		OrgID:          r.num(attrOrgID),
		Name:           r.str(attrName),
		Provider:       storageconfig.Provider(r.str(attrProvider)),
		IsVerified:     r.boolean(attrIsVerified),
		LastVerifiedAt: r.optionalTime(attrLastVerifiedAt),
		CreatedAt:      r.time(attrCreatedAt),
		UpdatedAt:      r.time(attrUpdatedAt),
		Version:        r.num(attrVersion),
		Sealed:         r.optionalBytes(attrSealed),
	}
	readSchedule(&r, c)
	readCORSOrigins(&r, c)
	if r.err != nil {
		return nil, fmt.Errorf("decode config item: %w", r.err)
	}
	var err error
	if _, ok := item[attrSettings]; ok {
		err = storageconfig.DecodeDocument(c, []byte(r.str(attrSettings)))
	} else {
		c.Settings, err = storageconfig.LegacySettings(c.Provider, legacyFields(item))
	}
	if err == nil {
		err = r.err
	}
	if err != nil {
		return nil, fmt.Errorf("decode config item %s: %w", c.UID, err)
	}
	return c, nil
}

// legacyFields returns the string and boolean attributes of an item
// written before settings were a document: the provider fields among them
// are read by storageconfig.LegacySettings, the rest ignored.
func legacyFields(item map[string]types.AttributeValue) map[string]any {
	out := map[string]any{}
	for name, av := range item {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			out[name] = v.Value
		case *types.AttributeValueMemberBOOL:
			out[name] = v.Value
		}
	}
	return out
}

// CreateConfig stores c as given, unless a config with its UID exists (in
// any org), with the next integer id, which it sets in c.ID. The id comes
// from the counter item (an atomic ADD, never a scan; an id taken by a
// create that then fails is never reused), and the config item and its id
// item (CONFIGID#<id>, which names the uid) are written in one
// transaction, each conditional on not existing. It does not check that
// the org exists: callers create configs in an org they have just
// resolved, and a check would make every create in an org a transaction
// on that org's item.
func (s *Store) CreateConfig(ctx context.Context, c *storageconfig.Config) error {
	id, err := s.next(ctx, counterConfig)
	if err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	withID := *c
	withID.ID = id
	alias := configIDKey(id)
	alias[attrUID] = str(c.UID)
	alias[attrOrgID] = num(c.OrgID)
	item, err := configItem(&withID, c.Version)
	if err != nil {
		return fmt.Errorf("create config %s: %w", c.UID, err)
	}
	reasons, err := s.transact(ctx, putNew(s.table, item), putNew(s.table, alias))
	switch {
	case err != nil:
		return fmt.Errorf("create config %s: %w", c.UID, err)
	case reasons == nil:
		c.ID = id
		return nil
	case reasons[0] == reasonConditionFailed:
		return fmt.Errorf("create config %s: %w", c.UID, alreadyExists("storage config already exists"))
	default:
		return fmt.Errorf("create config %s: %w", c.UID, alreadyExists("storage config id %d is taken", id))
	}
}

// GetConfigByID returns the config with the integer id, in any org: a
// strongly consistent GetItem of its id item, then of the config.
func (s *Store) GetConfigByID(ctx context.Context, id int64) (*storageconfig.Config, error) {
	item, err := s.get(ctx, configIDKey(id))
	if err != nil {
		return nil, fmt.Errorf("get config #%d: %w", id, err)
	}
	if item == nil {
		return nil, fmt.Errorf("get config #%d: %w", id, notFound("storage config not found"))
	}
	r := reader{item: item}
	uid := r.str(attrUID)
	if r.err != nil {
		return nil, fmt.Errorf("get config #%d: %w", id, r.err)
	}
	// The id item of a config deleted a moment ago may outlive it (see
	// DeleteConfig); GetConfig then answers NotFound.
	return s.GetConfig(ctx, uid)
}

// GetConfig returns the config with uid, in any org, by a strongly
// consistent GetItem.
func (s *Store) GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            configKey(uid),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get config %s: %w", uid, classify(ctx, err))
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get config %s: %w", uid, notFound("storage config not found"))
	}
	c, err := decodeConfig(out.Item)
	if err != nil {
		return nil, fmt.Errorf("get config %s: %w", uid, err)
	}
	return c, nil
}

// ListConfigs returns a page of orgID's configs, newest first, by a Query
// of the gsi1 index. The partition is always the caller's org, and a
// position only bounds the sort key within it (gsi1sk < or > the encoded
// position), so no position can reach another org's configs. It fetches one
// item more than the page to learn More.
func (s *Store) ListConfigs(ctx context.Context, orgID int64, opts store.ListOptions) (store.Page, error) {
	if err := opts.Validate(); err != nil {
		return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, err)
	}
	in := listQuery(s.table, orgID, opts)
	want := opts.Limit + 1
	items := make([]*storageconfig.Config, 0, want)
	for len(items) < want {
		in.Limit = aws.Int32(int32(want - len(items)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, classify(ctx, err))
		}
		for _, item := range out.Items {
			c, err := decodeConfig(item)
			if err != nil {
				return store.Page{}, fmt.Errorf("list configs of org %d: %w", orgID, err)
			}
			items = append(items, c)
		}
		// A page stops early at 1 MB; go on from where DynamoDB stopped.
		// This key comes from DynamoDB's answer to this query, never from
		// the caller.
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := store.Page{Items: items, More: len(items) > opts.Limit}
	if page.More {
		page.Items = items[:opts.Limit]
	}
	if opts.Before != nil {
		slices.Reverse(page.Items) // fetched oldest first, nearest the cursor
	}
	return page, nil
}

// listQuery builds the Query of one page: newest first from the top or
// after a position, oldest first (to be reversed) before a position.
func listQuery(table *string, orgID int64, opts store.ListOptions) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                table,
		IndexName:                aws.String(IndexByOrg),
		KeyConditionExpression:   aws.String("#pk = :org"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":org": str(orgPK(orgID)),
		},
		ScanIndexForward: aws.Bool(false),
	}
	var pos store.Position
	switch {
	case opts.After != nil:
		pos = *opts.After
		in.KeyConditionExpression = aws.String("#pk = :org AND #sk < :pos")
	case opts.Before != nil:
		pos = *opts.Before
		in.KeyConditionExpression = aws.String("#pk = :org AND #sk > :pos")
		in.ScanIndexForward = aws.Bool(true)
	default:
		return in
	}
	in.ExpressionAttributeNames["#sk"] = attrGSI1SK
	in.ExpressionAttributeValues[":pos"] = str(sortPosition(pos.CreatedAt, pos.UID))
	return in
}

// UpdateConfig replaces the stored config with c if it is in c.OrgID and
// its stored version equals c.Version, and then sets c.Version to
// c.Version+1. It is one conditional PutItem; when the condition fails,
// the stored item returned with the failure (ALL_OLD) tells a missing
// config or one of another org (NotFound) from a newer version (Conflict).
func (s *Store) UpdateConfig(ctx context.Context, c *storageconfig.Config) error {
	item, err := configItem(c, c.Version+1)
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           s.table,
		Item:                                item,
		ConditionExpression:                 aws.String("#org = :org AND #version = :version"),
		ExpressionAttributeNames:            map[string]string{"#org": attrOrgID, "#version": attrVersion},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":org": num(c.OrgID), ":version": num(c.Version)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, failed := conditionFailed(err); failed {
		return fmt.Errorf("update config %s: %w", c.UID, updateFailure(c, old))
	}
	if err != nil {
		return fmt.Errorf("update config %s: %w", c.UID, classify(ctx, err))
	}
	c.Version++
	return nil
}

// updateFailure explains a failed update condition from the stored item.
func updateFailure(c *storageconfig.Config, old map[string]types.AttributeValue) error {
	if old == nil {
		return notFound("storage config not found")
	}
	r := reader{item: old}
	org, version := r.num(attrOrgID), r.num(attrVersion)
	switch {
	case r.err != nil:
		return fmt.Errorf("decode stored config: %w", r.err)
	case org != c.OrgID:
		return notFound("storage config not found")
	default:
		return errcode.New(errcode.Conflict, "storage config changed: version %d, not %d", version, c.Version)
	}
}

// DeleteConfig removes the config, with its sealed credentials, if it is in
// orgID: one DeleteItem conditional on the org. DynamoDB drops the item
// from the table and the indexes; point-in-time-recovery backups keep it
// until they expire (at most 35 days), sealed. Then it deletes the
// config's id item (a stale one resolves to NotFound) and the
// config's verification history (purgeHistory); if that fails, the config
// is still gone, and the error says so.
func (s *Store) DeleteConfig(ctx context.Context, orgID int64, uid string) error {
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       configKey(uid),
		ConditionExpression:       aws.String("#org = :org"),
		ExpressionAttributeNames:  map[string]string{"#org": attrOrgID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":org": num(orgID)},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if _, failed := conditionFailed(err); failed {
		return fmt.Errorf("delete config %s: %w", uid, notFound("storage config not found"))
	}
	if err != nil {
		return fmt.Errorf("delete config %s: %w", uid, classify(ctx, err))
	}
	old := reader{item: out.Attributes}
	if id := old.optionalNum(attrID); id > 0 {
		if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: configIDKey(id)}); err != nil {
			return fmt.Errorf("delete config %s: the config is deleted, its id item #%d not: %w", uid, id, classify(ctx, err))
		}
	}
	if err := s.purgeHistory(ctx, uid); err != nil {
		return fmt.Errorf("delete config %s: the config is deleted, its history not all: %w", uid, err)
	}
	return nil
}
