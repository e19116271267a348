package testenv

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestDynamoDBLocal checks what the stores rely on: a table created by one
// client is seen by another with other credentials (-sharedDb), items
// round-trip, a condition expression is enforced, and stop kills the JVM.
func TestDynamoDBLocal(t *testing.T) {
	d := StartDynamoDB(t)
	if !strings.HasPrefix(d.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want http://127.0.0.1:port", d.Endpoint)
	}
	ctx := t.Context()
	client := d.Client(t)
	table := TableName(t)
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}

	cfg := d.AWSConfig()
	id, secret := NewCredentials(t)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	other := dynamodb.NewFromConfig(cfg)
	tables, err := other.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables with other credentials: %v", err)
	}
	if !slices.Contains(tables.TableNames, table) {
		t.Fatalf("other credentials see tables %v, want %s among them (-sharedDb)", tables.TableNames, table)
	}

	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}, "n": &types.AttributeValueMemberN{Value: "1"}}
	put := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if _, err := client.PutItem(ctx, put); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	var ccf *types.ConditionalCheckFailedException
	if _, err := other.PutItem(ctx, put); !errors.As(err, &ccf) {
		t.Fatalf("second conditional PutItem = %v, want ConditionalCheckFailedException", err)
	}
	got, err := other.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": item["pk"]}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if n, ok := got.Item["n"].(*types.AttributeValueMemberN); !ok || n.Value != "1" {
		t.Fatalf("GetItem = %#v, want n=1", got.Item)
	}

	pid := d.cmd.Process.Pid
	d.stop()
	d.stop() // idempotent
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("dynamodb local process %d still exists after stop: %v", pid, err)
	}
	hc := &http.Client{Timeout: time.Second}
	if resp, err := hc.Post(d.Endpoint, "application/x-amz-json-1.0", nil); err == nil {
		resp.Body.Close()
		t.Errorf("dynamodb local still answers at %s after stop", d.Endpoint)
	}
}

func TestSharedDynamoDB(t *testing.T) {
	d1 := SharedDynamoDB(t)
	d2 := SharedDynamoDB(t)
	if d1 != d2 {
		t.Fatal("SharedDynamoDB started a second server")
	}
	if _, err := d1.Client(t).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables on the shared server: %v", err)
	}
	if a, b := TableName(t), TableName(t); a == b || !strings.HasPrefix(a, "t-") {
		t.Errorf("TableName returned %q and %q, want two distinct names starting with t-", a, b)
	}
}
