package awsapp_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/awsapp"
)

// env returns a getenv over a complete, valid environment with the given
// changes; an empty value unsets the variable.
func env(changes map[string]string) func(string) string {
	m := map[string]string{
		awsapp.EnvTable:        "bucketlink-dev-ConfigTable-ABC",
		awsapp.EnvKMSKeyID:     "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		awsapp.EnvAWSAccountID: "123456789012",
	}
	for k, v := range changes {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		needs   []awsapp.Need
		want    func(awsapp.Config) bool
		wantErr []string // every one must be named
	}{
		{
			name:    "defaults",
			changes: nil,
			want: func(c awsapp.Config) bool {
				return c.Table == "bucketlink-dev-ConfigTable-ABC" && !c.AllowPrivate && c.AWSS3Endpoint == "" &&
					c.VerifyDeadline == awsapp.DefaultVerifyDeadline && c.LogLevel == slog.LevelInfo && c.CursorSecretID == ""
			},
		},
		{
			name: "everything set",
			changes: map[string]string{
				awsapp.EnvCursorSecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor-AbCdEf",
				awsapp.EnvAllowPrivate:   "true", awsapp.EnvAWSS3Endpoint: "http://127.0.0.1:9000",
				awsapp.EnvVerifyDeadline: "20s", awsapp.EnvLogLevel: "debug",
			},
			needs: []awsapp.Need{awsapp.NeedCursorKey},
			want: func(c awsapp.Config) bool {
				return c.AllowPrivate && c.AWSS3Endpoint == "http://127.0.0.1:9000" && c.VerifyDeadline == 20*time.Second &&
					c.LogLevel == slog.LevelDebug && strings.HasSuffix(c.CursorSecretID, ":secret:cursor-AbCdEf")
			},
		},
		{
			name:    "everything required missing",
			changes: map[string]string{awsapp.EnvTable: "", awsapp.EnvKMSKeyID: "", awsapp.EnvAWSAccountID: ""},
			needs:   []awsapp.Need{awsapp.NeedCursorKey},
			wantErr: []string{"BUCKETLINK_TABLE is required", "BUCKETLINK_KMS_KEY_ID is required", "BUCKETLINK_AWS_ACCOUNT_ID is required", "BUCKETLINK_CURSOR_SECRET_ID is required"},
		},
		{
			name: "malformed values",
			changes: map[string]string{
				awsapp.EnvAWSAccountID: "12345678901x", awsapp.EnvAllowPrivate: "yes please",
				awsapp.EnvVerifyDeadline: "soon", awsapp.EnvLogLevel: "loud",
			},
			wantErr: []string{"BUCKETLINK_AWS_ACCOUNT_ID must be a 12-digit", "BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS must be true or false", "BUCKETLINK_VERIFY_DEADLINE must be a duration", "BUCKETLINK_LOG_LEVEL must be"},
		},
		{
			name:    "deadline past the API's limit",
			changes: map[string]string{awsapp.EnvVerifyDeadline: "30s"},
			wantErr: []string{"BUCKETLINK_VERIFY_DEADLINE must be positive and at most 25s"},
		},
		{
			name:    "reverify scheduler and worker",
			changes: map[string]string{awsapp.EnvVerifyQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/verify", awsapp.EnvEventBus: "bucketlink-dev"},
			needs:   []awsapp.Need{awsapp.NeedReverifyQueue, awsapp.NeedEventBus},
			want: func(c awsapp.Config) bool {
				return c.VerifyQueueURL == "https://sqs.us-east-1.amazonaws.com/123456789012/verify" && c.EventBus == "bucketlink-dev"
			},
		},
		{
			name:    "reverify settings missing",
			needs:   []awsapp.Need{awsapp.NeedReverifyQueue, awsapp.NeedEventBus},
			wantErr: []string{"BUCKETLINK_VERIFY_QUEUE_URL is required", "BUCKETLINK_EVENT_BUS is required"},
		},
		{
			name:    "deadline zero",
			changes: map[string]string{awsapp.EnvVerifyDeadline: "0s"},
			wantErr: []string{"BUCKETLINK_VERIFY_DEADLINE must be positive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := awsapp.LoadConfig(env(tt.changes), tt.needs...)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("LoadConfig = %+v, want an error", c)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("LoadConfig = %+v", c)
			}
		})
	}
}

func TestLoadConfigNeverEchoesValues(t *testing.T) {
	const value = "s3cr3t-looking-value"
	_, err := awsapp.LoadConfig(env(map[string]string{
		awsapp.EnvAWSAccountID: value, awsapp.EnvAllowPrivate: value,
		awsapp.EnvVerifyDeadline: value, awsapp.EnvLogLevel: value,
	}))
	if err == nil || strings.Contains(err.Error(), value) {
		t.Errorf("error %v echoes a value", err)
	}
}

// A function's main loads its configuration from the environment and
// stops at once, naming every problem, when it is wrong.
func ExampleLoadConfig() {
	getenv := func(name string) string {
		return map[string]string{
			"BUCKETLINK_TABLE":           "bucketlink-prod-ConfigTable-1A2B3C",
			"BUCKETLINK_AWS_ACCOUNT_ID":  "123456789012",
			"BUCKETLINK_VERIFY_DEADLINE": "1m",
		}[name]
	}
	_, err := awsapp.LoadConfig(getenv, awsapp.NeedCursorKey)
	fmt.Println(err)
	// Output:
	// awsapp: configuration: BUCKETLINK_KMS_KEY_ID is required
	// BUCKETLINK_CURSOR_SECRET_ID is required by this function (it signs pagination cursors)
	// BUCKETLINK_VERIFY_DEADLINE must be positive and at most 25s
}
