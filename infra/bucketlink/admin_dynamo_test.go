package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
)

// TestAdminCommandsOnDynamoDB points the identity commands at a table in
// DynamoDB Local, as an operator would at a deployed stack's table, and
// checks that the key they print authenticates against that table.
func TestAdminCommandsOnDynamoDB(t *testing.T) {
	ctx := context.Background()
	d := testenv.StartDynamoDB(t)
	table := testenv.TableName(t)
	client := d.Client(t)
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	creds, err := d.AWSConfig().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", d.Endpoint)
	t.Setenv("AWS_REGION", d.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(args, "--store", "dynamodb", "--table", table), &out, &out)
		return out.String(), err
	}

	out, err := cmd("org", "create", "--slug", "acme", "--name", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	var org identity.Org
	if err := json.Unmarshal([]byte(out), &org); err != nil || org.ID == 0 || org.ExternalID == "" {
		t.Fatalf("org create printed %q (%v)", out, err)
	}
	out, err = cmd("apikey", "create", "--org", "acme", "--role", "admin", "--user", "ops")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	st := dynamostore.New(client, table)
	p, err := identity.Authenticate(ctx, st, key)
	if err != nil {
		t.Fatalf("the printed key does not authenticate against the table: %v", err)
	}
	if r, ok := p.RoleIn(org.ID); !ok || r != identity.RoleAdmin {
		t.Errorf("role in acme = %q %v", r, ok)
	}
	if _, err := cmd("org", "create", "--slug", "acme"); err == nil {
		t.Error("duplicate slug accepted")
	}
	if err := run(ctx, []string{"org", "create", "--slug", "x", "--store", "dynamodb"}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
		t.Errorf("--store dynamodb without --table: %v", err)
	}
	if err := run(ctx, []string{"org", "create", "--slug", "x", "--store", "postgres"}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
		t.Errorf("unknown store: %v", err)
	}
	// migrate numbers nothing on a table written by this version, and is
	// safe to run again (dynamostore's backfill test covers older items).
	out, err = cmd("migrate")
	if err != nil || !strings.Contains(out, `"config_ids_assigned":0`) {
		t.Errorf("migrate printed %q, %v", out, err)
	}
}
