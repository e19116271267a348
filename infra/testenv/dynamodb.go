package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDBRegion is the region AWSConfig points clients at.
const DynamoDBRegion = "us-east-1"

// dynamoStartTimeout bounds how long DynamoDB Local (a JVM) may take to
// listen and answer; it usually takes about half a second.
const dynamoStartTimeout = 60 * time.Second

// DynamoDB is a running DynamoDB Local (the emulator from Maven Central,
// installed by install-tools.sh as .tools/bin/dynamodb-local) holding its
// tables in memory. It runs with -sharedDb, so every client sees the same
// tables whatever its credentials and region. DynamoDB Local has no option
// to choose its listening address: it listens on every interface, and the
// clients made here use 127.0.0.1.
type DynamoDB struct {
	Endpoint string // http://127.0.0.1:port
	Region   string

	accessKeyID, secretAccessKey string

	*proc
}

// StartDynamoDB starts DynamoDB Local for this test and stops it when the
// test ends. Packages with many tests can share one server with
// SharedDynamoDB. When it is not installed the test fails if CI=true and is
// skipped otherwise.
func StartDynamoDB(tb testing.TB) *DynamoDB {
	tb.Helper()
	bin := ToolPath(tb, "dynamodb-local")
	d, err := startDynamoDB(bin)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(d.stop)
	return d
}

var dynamoShared = sharedServer[*DynamoDB]{fn: "SharedDynamoDB", what: "dynamodb"}

// SharedDynamoDB returns the package's one DynamoDB Local, starting it on
// first use; it is stopped by Main, which the package's TestMain must call.
// Tests sharing it should use their own tables (TableName).
func SharedDynamoDB(tb testing.TB) *DynamoDB {
	tb.Helper()
	bin := ToolPath(tb, "dynamodb-local")
	return dynamoShared.get(tb, func(string) (*DynamoDB, error) { return startDynamoDB(bin) })
}

// TableName returns a fresh random table name starting with "t-", for a
// test that wants its own table on a shared server.
func TableName(tb testing.TB) string {
	tb.Helper()
	return "t-" + randomString(lowerDigits, 16)
}

// AWSConfig returns an SDK configuration for this server: region
// us-east-1, static random fake credentials and BaseEndpoint set to the
// server. SDK retries are left at their defaults.
func (d *DynamoDB) AWSConfig() aws.Config {
	return aws.Config{
		Region:       d.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(d.accessKeyID, d.secretAccessKey, ""),
		BaseEndpoint: aws.String(d.Endpoint),
		HTTPClient:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
}

// Client returns a DynamoDB client for this server (see AWSConfig).
func (d *DynamoDB) Client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(d.AWSConfig())
}

// startDynamoDB starts a server, retrying when a just-chosen port was taken
// by someone else.
func startDynamoDB(bin string) (*DynamoDB, error) {
	return retryStart(func() (*DynamoDB, error) { return startDynamoDBOnce(bin) })
}

func startDynamoDBOnce(bin string) (*DynamoDB, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start dynamodb local: %w", err)
	}
	id, secret := newCredentials()
	// Its own process group, so stop also kills anything the launcher spawns.
	p, err := startProc(bin, []string{"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port)},
		dynamoEnv(), "", true)
	if err != nil {
		return nil, fmt.Errorf("start dynamodb local: %w", err)
	}
	d := &DynamoDB{
		Endpoint:        "http://127.0.0.1:" + strconv.Itoa(port),
		Region:          DynamoDBRegion,
		accessKeyID:     id,
		secretAccessKey: secret,
		proc:            p,
	}
	if err := d.waitReady(); err != nil {
		d.stop()
		return nil, fmt.Errorf("start dynamodb local: %w; output: %s", err, d.output())
	}
	return d, nil
}

// dynamoEnv is the environment of the server: the caller's, without any
// AWS_ setting.
func dynamoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls ListTables until the server answers it.
func (d *DynamoDB) waitReady() error {
	client := dynamodb.NewFromConfig(d.AWSConfig(), func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1
	})
	err := d.poll(dynamoStartTimeout, 50*time.Millisecond, func(ctx context.Context) error {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		defer cancelAttempt()
		_, err := client.ListTables(attempt, &dynamodb.ListTablesInput{})
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errProcExited):
		return errors.New("server exited before it was ready")
	default:
		return fmt.Errorf("server not ready after %s: %w", dynamoStartTimeout, err)
	}
}
