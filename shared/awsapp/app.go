package awsapp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// MinCursorSecretLen is the shortest accepted cursor secret value, in
// bytes. The template generates 64 alphanumeric characters (~380 bits).
const MinCursorSecretLen = 32

// initTimeout bounds the calls New makes (reading the cursor secret), well
// inside Lambda's 10-second init phase.
const initTimeout = 5 * time.Second

// App is the wired API of one function. Build it once, at init.
type App struct {
	// Server is the API; its Handler is what the function serves.
	Server *httpapi.Server
}

// Options change what New builds; the zero value is production.
type Options struct {
	// Log receives the JSON log; nil means os.Stderr (CloudWatch Logs in
	// Lambda).
	Log io.Writer
}

// New builds the SDK clients from awsCfg (the service's own configuration,
// from config.LoadDefaultConfig; the AWS_ENDPOINT_URL_<SERVICE> variables
// redirect them, which tests use) and wires the API: the DynamoDB store,
// the KMS sealer, and the verifier's drivers with the STS role assumer for
// iam_role configs. Its only call to AWS reads the cursor secret, when
// cfg names one.
func New(ctx context.Context, cfg Config, awsCfg aws.Config, opts Options) (*App, error) {
	out := opts.Log
	if out == nil {
		out = os.Stderr
	}
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
	key, err := cursorKey(ctx, awsCfg, cfg.CursorSecretID)
	if err != nil {
		return nil, err
	}
	roles, err := awsrole.NewFromConfig(awsCfg, cfg.AWSSTSEndpoint, awsrole.Options{})
	if err != nil {
		return nil, fmt.Errorf("awsapp: %s: %w", EnvAWSSTSEndpoint, err)
	}
	st := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	policy := netguard.Policy{AllowPrivate: cfg.AllowPrivate}
	srv := &httpapi.Server{
		Store:  st,
		Sealer: kmsseal.New(kms.NewFromConfig(awsCfg), cfg.KMSKeyID),
		Verifier: &verify.Verifier{
			// Every provider's driver, with the customer's credentials only
			// (keys, or their role's temporary ones), over one SSRF-safe
			// client. The emulator overrides of `bucketlink serve` (GCS,
			// Azure) are not offered here: a deployment talks to the real
			// services.
			Opener: &anyblob.Opener{
				HTTPClient: policy.HTTPClient(),
				S3:         &s3blob.Opener{AWSEndpoint: cfg.AWSS3Endpoint, Roles: roles, Orgs: st},
			},
			Deadline: cfg.VerifyDeadline,
		},
		CursorKey:    key,
		AWSAccountID: cfg.AWSAccountID,
		Logger:       log,
	}
	return &App{Server: srv}, nil
}

// DeadlineMargin is how much earlier than its context's deadline (in
// Lambda, the invocation's) a request's work must end, so that the handler
// can still write its answer, a JSON 503 if need be, before the platform
// stops the function and API Gateway answers with a bare error.
const DeadlineMargin = time.Second

// Handler returns the API's http.Handler, which ends each request's work
// DeadlineMargin before its context's deadline.
func (a *App) Handler() http.Handler { return withDeadlineMargin(a.Server.Handler(), DeadlineMargin) }

// withDeadlineMargin gives each request with a deadline a context that
// ends margin earlier. Requests without a deadline pass unchanged.
func withDeadlineMargin(next http.Handler, margin time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dl, ok := r.Context().Deadline(); ok {
			ctx, cancel := context.WithDeadline(r.Context(), dl.Add(-margin))
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// cursorKey returns the key that signs pagination cursors: derived from the
// secret's value when secretID is set, so that every instance of every
// function agrees, else random (a function that never sees a cursor).
func cursorKey(ctx context.Context, awsCfg aws.Config, secretID string) ([]byte, error) {
	if secretID == "" {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("awsapp: cursor key: %w", err)
		}
		return key, nil
	}
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("awsapp: read cursor secret %s: %w", secretID, err)
	}
	value := aws.ToString(out.SecretString)
	if value == "" {
		value = string(out.SecretBinary)
	}
	if len(value) < MinCursorSecretLen {
		return nil, fmt.Errorf("awsapp: cursor secret %s: value shorter than %d bytes", secretID, MinCursorSecretLen)
	}
	// Derive rather than use the value directly, so that the same secret
	// could key something else without the two uses ever colliding.
	m := hmac.New(sha256.New, []byte(value))
	m.Write([]byte("bucketlink/pagination-cursor/v1"))
	return m.Sum(nil), nil
}
