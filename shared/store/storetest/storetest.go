// Package storetest is the conformance suite for store.Store. Every
// implementation (sqlitestore, and the DynamoDB store) runs it in one line:
//
//	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//
// The suite proves the contract written in package store: NotFound instead of
// (nil, nil), AlreadyExists on collisions, optimistic concurrency with
// Version, keyset paging that stays exact while other writers create and
// delete, and ctx honoured by every method.
//
// Where store.go is silent, the suite pins down:
//   - configs belong to orgs made with CreateOrg (a store may enforce it);
//   - ListConfigs rejects a Limit outside 1..store.MaxLimit, or After and
//     Before together, with errcode.InvalidArgument (see ListOptions.Validate);
//   - UpdateConfig selects by UID and OrgID: another org's ID is NotFound; a
//     failed update leaves c.Version alone; a zero LastVerifiedAt stays zero;
//   - a cancelled ctx gives an error matching context.Canceled;
//   - ListMemberships of a user with none is empty, not NotFound;
//   - every time comes back as the same instant, in UTC;
//   - a rotation (new sealed credentials and settings in one UpdateConfig)
//     is stored whole or not at all: of two from one read, one wins.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Run runs the whole suite. newStore must return a fresh, empty store for
// each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
	t.Run("Configs", func(t *testing.T) { runConfigs(t, open) })
	t.Run("List", func(t *testing.T) { runList(t, open) })
	t.Run("Update", func(t *testing.T) { runUpdate(t, open) })
	t.Run("Rotate", func(t *testing.T) { runRotate(t, open) })
	t.Run("Identities", func(t *testing.T) { runIdentities(t, open) })
	t.Run("Schedules", func(t *testing.T) { runSchedules(t, open) })
	t.Run("ConnectSessions", func(t *testing.T) { runConnectSessions(t, open) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, open(t)) })
}

// opener returns a fresh store that is closed when t ends.
type opener func(t *testing.T) store.Store

// NewConfig returns a valid config of orgID, as the service would create it:
// a random v4 UID, an aws_s3 bucket, timestamps of now (UTC, microseconds),
// Version 1 and 64 random sealed bytes. It is never verified.
func NewConfig(orgID int64) *storageconfig.Config {
	now := storageconfig.Now()
	id := uuid.NewString()
	return &storageconfig.Config{
		UID:       id,
		OrgID:     orgID,
		Name:      "config " + id[:8],
		Provider:  s3.NameAWS,
		Settings:  &s3.Settings{BucketName: "bucket-" + id[:8], Region: "eu-west-1", Auth: s3.AuthAccessKey},
		CreatedAt: now,
		UpdatedAt: now,
		Version:   1,
		Sealed:    randomBytes(64),
	}
}

// providerSettings are settings of every provider with every field set,
// for round-trip tests: the store keeps each as one document.
func providerSettings() map[string]storageconfig.Settings {
	return map[string]storageconfig.Settings{
		s3.NameAWS: &s3.Settings{BucketName: "acme-aws", Region: "us-east-2", KeyPrefix: "data/raw/", Accelerate: true,
			CloudfrontDomain: "d111111abcdef8.cloudfront.net", CloudfrontPublicKeyID: "K2JCJMDEHXQW5F",
			Auth: s3.AuthIAMRole, RoleARN: "arn:aws:iam::123456789012:role/bucketlink"},
		s3.NameCompatible: &s3.Settings{Compatible: true, BucketName: "acme-minio", Region: "auto", KeyPrefix: "m/",
			Auth: s3.AuthAccessKey, Endpoint: "https://minio.example.com:9000", UsePathStyle: true},
		gcs.Name: &gcs.Settings{BucketName: "acme-gcs", KeyPrefix: "gcs/raw/", Auth: gcs.AuthHMAC},
		azure.Name: &azure.Settings{Account: "acmestorage", Container: "datasets", KeyPrefix: "azure/raw/",
			Endpoint: "https://acmestorage.blob.core.usgovcloudapi.net/"},
	}
}

// fullConfig returns a config with every field set to a non-zero value and
// times in a non-UTC zone, for round-trip tests.
func fullConfig(t *testing.T, orgID int64) *storageconfig.Config {
	t.Helper()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	c := NewConfig(orgID)
	c.Name = "Full config ✓"
	c.Provider = s3.NameCompatible
	c.Settings = providerSettings()[s3.NameCompatible]
	c.IsVerified = true
	c.LastVerifiedAt = time.Date(2025, 3, 4, 5, 6, 7, 891234000, zone)
	c.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 123456000, zone)
	c.UpdatedAt = time.Date(2025, 2, 3, 4, 5, 6, 654321000, zone)
	c.Version = 7
	c.ReverifyInterval = 2 * time.Hour
	c.NextReverifyAt = time.Date(2025, 3, 4, 7, 6, 7, 891234000, zone)
	c.ReverifyFailures = 3
	c.AccessMode = storageconfig.AccessReadOnly
	c.CORSOrigins = []string{"https://app.example.com", "http://localhost:5173"}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Name == "ID" {
			continue // the store assigns it
		}
		if v.Field(i).IsZero() {
			t.Fatalf("fullConfig leaves Config.%s zero: set it so the round trip covers it", v.Type().Field(i).Name)
		}
	}
	return c
}

// diffConfig lists the fields where got differs from want. Times must be
// equal instants and in UTC; byte slices must hold equal bytes.
func diffConfig(want, got *storageconfig.Config) []string {
	var diffs []string
	wv, gv := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			if !g.Equal(w) || g.IsZero() != w.IsZero() {
				diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", name, g, w))
			} else if g.Location() != time.UTC {
				diffs = append(diffs, fmt.Sprintf("%s: got location %v, want UTC", name, g.Location()))
			}
		case []byte:
			if !bytes.Equal(g.([]byte), w) {
				diffs = append(diffs, fmt.Sprintf("%s: got %d bytes %x, want %d bytes %x", name, len(g.([]byte)), g, len(w), w))
			}
		default:
			if !reflect.DeepEqual(g, w) {
				diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
			}
		}
	}
	return diffs
}

// wantConfig fails t unless got equals want field by field.
func wantConfig(t *testing.T, got, want *storageconfig.Config) {
	t.Helper()
	if got == nil {
		t.Fatalf("config %s: got nil", want.UID)
	}
	for _, d := range diffConfig(want, got) {
		t.Errorf("config %s: %s", want.UID, d)
	}
}

// wantCode fails t unless err matches the sentinel.
func wantCode(t *testing.T, err, sentinel error, what string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got error %v, want one matching %v", what, err, sentinel)
	}
}

// newOrg creates an org with a random slug and returns its ID.
func newOrg(t testing.TB, s store.Store) int64 {
	t.Helper()
	suffix := hex.EncodeToString(randomBytes(6))
	o := &identity.Org{
		Slug:       "org-" + suffix,
		Name:       "Org " + suffix,
		ExternalID: uuid.NewString(),
		CreatedAt:  storageconfig.Now(),
	}
	if err := s.CreateOrg(context.Background(), o); err != nil {
		t.Fatalf("create org: %v", err)
	}
	return o.ID
}

// mustCreate stores every config or fails t.
func mustCreate(t testing.TB, s store.Store, cs ...*storageconfig.Config) {
	t.Helper()
	for _, c := range cs {
		if err := s.CreateConfig(context.Background(), c); err != nil {
			t.Fatalf("create config %s: %v", c.UID, err)
		}
	}
}

// mustGet returns the stored config or fails t.
func mustGet(t testing.TB, s store.Store, uid string) *storageconfig.Config {
	t.Helper()
	c, err := s.GetConfig(context.Background(), uid)
	if err != nil {
		t.Fatalf("get config %s: %v", uid, err)
	}
	if c == nil {
		t.Fatalf("get config %s: nil config and nil error", uid)
	}
	return c
}

// clone returns a deep copy of c.
func clone(c *storageconfig.Config) *storageconfig.Config {
	cp := *c
	cp.Sealed = bytes.Clone(c.Sealed)
	if c.CORSOrigins != nil {
		cp.CORSOrigins = append([]string{}, c.CORSOrigins...)
	}
	return &cp
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	return b
}
