package dynamostore_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestConformance runs the store suite against DynamoDB Local, with a
// fresh table for every store the suite opens.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, nil) })
}

// newStore creates a fresh table on the shared DynamoDB Local and returns a
// store on it, deleting the table when t ends. A non-nil wrap wraps the
// client's HTTP transport.
func newStore(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) *dynamostore.Store {
	t.Helper()
	ddb := testenv.SharedDynamoDB(t)
	cfg := ddb.AWSConfig()
	if wrap != nil {
		hc := cfg.HTTPClient.(*http.Client)
		hc.Transport = wrap(hc.Transport)
	}
	client := dynamodb.NewFromConfig(cfg)
	table := testenv.TableName(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("delete table %s: %v", table, err)
		}
	})
	return dynamostore.New(client, table)
}

func TestDynamoCreateTableTwice(t *testing.T) {
	ddb := testenv.SharedDynamoDB(t)
	client := ddb.Client(t)
	table := testenv.TableName(t)
	if err := dynamostore.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	err := dynamostore.CreateTable(t.Context(), client, table)
	if !errors.Is(err, errcode.ErrAlreadyExists) {
		t.Fatalf("create the table again: got %v, want an error matching ErrAlreadyExists", err)
	}
	out, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("describe time to live: %v", err)
	}
	if d := out.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != dynamostore.TTLAttribute {
		t.Errorf("time to live: got %+v, want attribute %s", d, dynamostore.TTLAttribute)
	}
}

// TestDynamoListUsesQuery checks that every request path reads by key or Query:
// listing (first, after, before pages), the lookups authentication makes,
// and gets, never a Scan.
func TestDynamoListUsesQuery(t *testing.T) {
	rec := &testenv.OpRecorder{}
	s := newStore(t, func(rt http.RoundTripper) http.RoundTripper { rec.Next = rt; return rec })
	ctx := t.Context()
	org := &identity.Org{Slug: "query-only", Name: "Q", ExternalID: uuid.NewString(), CreatedAt: storageconfig.Now()}
	if err := s.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	var cs []*storageconfig.Config
	for range 5 {
		c := storetest.NewConfig(org.ID)
		if err := s.CreateConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	rec.Take()

	pos := store.PositionOf(cs[2])
	reads := []struct {
		name string
		call func() error
		want string
	}{
		{"first page", func() error { _, err := s.ListConfigs(ctx, org.ID, store.ListOptions{Limit: 2}); return err }, "Query"},
		{"after", func() error {
			_, err := s.ListConfigs(ctx, org.ID, store.ListOptions{Limit: 2, After: &pos})
			return err
		}, "Query"},
		{"before", func() error {
			_, err := s.ListConfigs(ctx, org.ID, store.ListOptions{Limit: 2, Before: &pos})
			return err
		}, "Query"},
		{"get config", func() error { _, err := s.GetConfig(ctx, cs[0].UID); return err }, "GetItem"},
		{"org by slug", func() error { _, err := s.GetOrgBySlug(ctx, org.Slug); return err }, "GetItem"},
		{"memberships", func() error { _, err := s.ListMemberships(ctx, "nobody"); return err }, "Query"},
		{"key by hash", func() error {
			_, err := s.GetAPIKeyByHash(ctx, identity.HashKey("blk_nothing"))
			if errors.Is(err, errcode.ErrNotFound) {
				return nil
			}
			return err
		}, "GetItem"},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			ops := rec.Take()
			if want := []string{"DynamoDB_20120810." + tt.want}; !slices.Equal(ops, want) {
				t.Errorf("requests: got %v, want %v", ops, want)
			}
		})
	}
}

// TestDynamoPositionCannotReachAnotherOrg lists org A with positions taken from
// org B's configs and with hostile UIDs: the partition is always A's, so
// no page holds a config of B. (The HTTP layer also signs its cursors; this
// is the store's own guarantee.)
func TestDynamoPositionCannotReachAnotherOrg(t *testing.T) {
	s := newStore(t, nil)
	ctx := t.Context()
	var orgs [2]int64
	for i := range orgs {
		o := &identity.Org{Slug: uuid.NewString()[:8], Name: "o", ExternalID: uuid.NewString(), CreatedAt: storageconfig.Now()}
		if err := s.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		orgs[i] = o.ID
	}
	a, b := orgs[0], orgs[1]
	var bConfigs []*storageconfig.Config
	for i := range 6 {
		c := storetest.NewConfig(a)
		if i%2 == 1 {
			c.OrgID = b
			bConfigs = append(bConfigs, c)
		}
		if err := s.CreateConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	now := storageconfig.Now()
	positions := []store.Position{
		store.PositionOf(bConfigs[0]),
		store.PositionOf(bConfigs[2]),
		{CreatedAt: now, UID: "\xff\xff\xff"},
		{CreatedAt: now, UID: "#ORG#2"},
		{CreatedAt: now.Add(time.Hour), UID: ""},
		{CreatedAt: time.Unix(0, 0), UID: "~"},
		{CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), UID: "a"},
		{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), UID: "z"},
	}
	for _, p := range positions {
		for _, opts := range []store.ListOptions{{Limit: 100, After: &p}, {Limit: 100, Before: &p}} {
			page, err := s.ListConfigs(ctx, a, opts)
			if err != nil {
				t.Fatalf("list org %d from %+v: %v", a, p, err)
			}
			for _, c := range page.Items {
				if c.OrgID != a {
					t.Errorf("list org %d from %+v: got config %s of org %d", a, p, c.UID, c.OrgID)
				}
			}
		}
	}
	far := store.Position{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	page, err := s.ListConfigs(ctx, a, store.ListOptions{Limit: 100, After: &far})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("list org %d after the far future: %d items, %v; want its 3 configs", a, len(page.Items), err)
	}
}
