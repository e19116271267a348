// Package dynamostore is the store.Store of the AWS deployment: one
// DynamoDB table (single-table design) through
// github.com/aws/aws-sdk-go-v2/service/dynamodb. The key design is written
// down in infra/dynamodb.md; schema.go builds the same table.
//
// Every request path reads by key: GetItem for a config by uid (in any
// org), an org by id or slug, a user by name and an API key by hash; a
// Query of one item collection for a user's memberships; and a Query of
// the gsi1 index, newest first, for an org's configs. Nothing here scans.
//
// Writes that must not overwrite are conditional (attribute_not_exists);
// uniqueness of slugs, user names and key hashes is enforced by separate
// uniqueness items written in the same transaction as the entity. Config
// updates are conditional on the stored version, so two updates from the
// same read cannot both succeed.
//
// Reads of items are strongly consistent. Listing reads the gsi1 index,
// which DynamoDB keeps eventually consistent: a config created a moment ago
// may take a moment (usually well under a second) to appear in a listing,
// and a deleted one to leave it.
package dynamostore

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bucketlink/bucketlink/shared/store"
)

// Store is a store.Store kept in one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  *string
}

var _ store.Store = (*Store)(nil)

// New returns a store that keeps everything in the named table, which must
// exist with the schema of CreateTable (in a deployment, the SAM template
// declares it). The client is shared and never closed by the store.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: aws.String(table)}
}

// Close releases nothing: the client belongs to the caller. It returns nil.
func (s *Store) Close() error { return nil }
