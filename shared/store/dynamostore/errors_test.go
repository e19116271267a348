package dynamostore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
)

// faultStore returns a store whose client talks to a server that answers
// every request with status and body (DynamoDB's JSON error shape), with
// SDK retries off, and a counter of the requests the server saw.
func faultStore(t *testing.T, status int, body string) (*dynamostore.Store, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return storeAt(srv.URL), &n
}

func storeAt(endpoint string) *dynamostore.Store {
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "not-a-secret", ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
	})
	return dynamostore.New(client, "t")
}

// TestDynamoErrorCodes checks the mapping of errors.go: throttling, 5xx and an
// unreachable endpoint are Unavailable; client errors and a missing table
// are not (they end up as a generic 500). Both a GetItem and a Query path
// are tried for each answer.
func TestDynamoErrorCodes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   errcode.Code
	}{
		{"throttling", 400, `{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}`, errcode.Unavailable},
		{"throughput exceeded", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`, errcode.Unavailable},
		{"request limit", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded","message":"limit"}`, errcode.Unavailable},
		{"internal error", 500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}`, errcode.Unavailable},
		{"bare 503", 503, ``, errcode.Unavailable},
		{"validation", 400, `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`, errcode.Unknown},
		{"missing table", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}`, errcode.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := faultStore(t, tt.status, tt.body)
			_, err := s.GetConfig(t.Context(), uuid.NewString())
			if got := errcode.CodeOf(err); got != tt.want || err == nil {
				t.Errorf("GetConfig: got %v (code %v), want code %v", err, got, tt.want)
			}
			_, err = s.ListMemberships(t.Context(), "u")
			if got := errcode.CodeOf(err); got != tt.want || err == nil {
				t.Errorf("ListMemberships: got %v (code %v), want code %v", err, got, tt.want)
			}
			if tt.want == errcode.Unavailable && !errors.Is(err, errcode.ErrUnavailable) {
				t.Errorf("ListMemberships: %v does not match errcode.ErrUnavailable", err)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		s := storeAt(testenv.RefusedEndpoint(t))
		_, err := s.GetOrgByID(t.Context(), 1)
		if !errors.Is(err, errcode.ErrUnavailable) {
			t.Errorf("GetOrgByID on a refused port: got %v, want an error matching ErrUnavailable", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		s := storeAt(testenv.HangingServer(t))
		_, err := s.GetOrgByID(ctx, 1)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("GetOrgByID past its deadline: got %v, want an error matching context.DeadlineExceeded", err)
		}
	})
}

// TestDynamoTransactionCancellation checks how transactions cancelled for other
// reasons than a condition are answered: throttling is Unavailable at once;
// conflicts with other transactions are retried a few times, then
// Unavailable.
func TestDynamoTransactionCancellation(t *testing.T) {
	tests := []struct {
		name     string
		reasons  string
		requests int32
	}{
		{"throttled", `[{"Code":"ThrottlingError"},{"Code":"None"}]`, 1},
		{"conflicting", `[{"Code":"TransactionConflict"},{"Code":"None"}]`, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n := faultStore(t, 400, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",`+
				`"Message":"Transaction cancelled","CancellationReasons":`+tt.reasons+`}`)
			err := s.CreateUser(t.Context(), &identity.User{ID: uuid.NewString(), Name: "u", CreatedAt: storageconfig.Now()})
			if !errors.Is(err, errcode.ErrUnavailable) {
				t.Errorf("CreateUser: got %v, want an error matching ErrUnavailable", err)
			}
			if got := n.Load(); got != tt.requests {
				t.Errorf("CreateUser sent %d requests, want %d", got, tt.requests)
			}
		})
	}
}
