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
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/ratelimit/dynamolimit"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
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
	log := newLogger(cfg, opts)
	key, err := secretKey(ctx, awsCfg, cfg.CursorSecretID, cursorKeyUse)
	if err != nil {
		return nil, err
	}
	st, sealer, verifier, err := newParts(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	srv := &httpapi.Server{
		Store:        st,
		Sealer:       sealer,
		Verifier:     verifier,
		CursorKey:    key,
		AWSAccountID: cfg.AWSAccountID,
		Logger:       log,
	}
	// test/ publishes the flips it causes, like the re-verifier.
	if srv.Events, err = publisher(cfg, awsCfg, log); err != nil {
		return nil, err
	}
	// The bucket-verify API: records keyed with the secret every instance
	// shares, verifications sent to the worker's queue.
	if cfg.VerifyKeySecretID != "" {
		if srv.VerifyKey, err = secretKey(ctx, awsCfg, cfg.VerifyKeySecretID, verifyKeyUse); err != nil {
			return nil, err
		}
	}
	if cfg.VerifyQueueURL != "" {
		if srv.Queue, err = sqsqueue.NewSender(sqs.NewFromConfig(awsCfg), cfg.VerifyQueueURL, sqsqueue.SenderOptions{}); err != nil {
			return nil, fmt.Errorf("awsapp: %s: %w", EnvVerifyQueueURL, err)
		}
	}
	// Rate limits: each key's token buckets, in the table, shared by
	// every instance of every function; a DynamoDB failure lets the
	// request through (httpapi).
	if cfg.RateLimits != (ratelimit.Limits{}) {
		if srv.Limiter, err = dynamolimit.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, cfg.RateLimits, dynamolimit.Options{}); err != nil {
			return nil, fmt.Errorf("awsapp: %w", err)
		}
	}
	return &App{Server: srv}, nil
}

// LeaseOverDeadline is how much longer than one verification
// (Config.VerifyDeadline) the worker's lease on a record lasts: time to
// open the credentials with KMS and write the result.
const LeaseOverDeadline = 5 * time.Second

// NewWorker wires the verify-worker function: the worker that runs the
// bucket-verify API's verifications, with the same store, sealer and
// verifier as New, and a lease of VerifyDeadline plus LeaseOverDeadline.
// It makes no call to AWS.
func NewWorker(cfg Config, awsCfg aws.Config, opts Options) (*verifyworker.Worker, error) {
	st, sealer, verifier, err := newParts(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	return &verifyworker.Worker{
		Store:    st,
		Sealer:   sealer,
		Verifier: verifier,
		LeaseTTL: cfg.VerifyDeadline + LeaseOverDeadline,
		Logger:   newLogger(cfg, opts),
	}, nil
}

// newLogger returns the JSON logger of a function.
func newLogger(cfg Config, opts Options) *slog.Logger {
	out := opts.Log
	if out == nil {
		out = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// newParts builds the DynamoDB store, the KMS sealer and the verifier with
// every provider's driver and the STS role assumer for iam_role configs.
func newParts(cfg Config, awsCfg aws.Config) (*dynamostore.Store, *kmsseal.Sealer, *verify.Verifier, error) {
	roles, err := awsrole.NewFromConfig(awsCfg, cfg.AWSSTSEndpoint, awsrole.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("awsapp: %s: %w", EnvAWSSTSEndpoint, err)
	}
	st := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	policy := netguard.Policy{AllowPrivate: cfg.AllowPrivate}
	verifier := &verify.Verifier{
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
	}
	return st, kmsseal.New(kms.NewFromConfig(awsCfg), cfg.KMSKeyID), verifier, nil
}

// DeadlineMargin is how much earlier than its context's deadline (in
// Lambda, the invocation's) a request's work must end, so that the handler
// can still write its answer, a JSON 503 if need be, before the platform
// stops the function and API Gateway answers with a bare error.
const DeadlineMargin = time.Second

// Handler returns the API's http.Handler, which ends each request's work
// DeadlineMargin before its context's deadline, and writes its links on
// the API Gateway domain of the request (gatewayPublicURL), never on the
// Host header.
func (a *App) Handler() http.Handler {
	return withDeadlineMargin(httpapi.WithPublicURLOf(a.Server.Handler(), gatewayPublicURL), DeadlineMargin)
}

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

// keyUse names a key derived from a secret: what the secret is called in
// errors, and the label of the derivation, so that one secret could serve
// both uses without their keys ever colliding.
type keyUse struct{ name, label string }

var (
	cursorKeyUse = keyUse{"cursor secret", "bucketlink/pagination-cursor/v1"}
	verifyKeyUse = keyUse{"verification key secret", "bucketlink/verification-record-key/v1"}
)

// secretKey returns a 32-byte key for use: derived from the
// value of the Secrets Manager secret secretID when it is set, so that
// every instance of every function agrees, else random (right only for a
// function that never needs to agree, e.g. one that never sees a cursor).
func secretKey(ctx context.Context, awsCfg aws.Config, secretID string, use keyUse) ([]byte, error) {
	if secretID == "" {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("awsapp: random key: %w", err)
		}
		return key, nil
	}
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("awsapp: read %s %s: %w", use.name, secretID, err)
	}
	value := aws.ToString(out.SecretString)
	if value == "" {
		value = string(out.SecretBinary)
	}
	if len(value) < MinCursorSecretLen {
		return nil, fmt.Errorf("awsapp: %s %s: value shorter than %d bytes", use.name, secretID, MinCursorSecretLen)
	}
	// Derive rather than use the value directly.
	m := hmac.New(sha256.New, []byte(value))
	m.Write([]byte(use.label))
	return m.Sum(nil), nil
}
