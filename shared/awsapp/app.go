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

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/ratelimit/dynamolimit"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/service"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
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

// Options change what NewParts builds; the zero value is production.
type Options struct {
	// Log receives the JSON log; nil means os.Stderr (CloudWatch Logs in
	// Lambda).
	Log io.Writer
	// Metrics receives the EMF lines; nil means os.Stdout (CloudWatch
	// Logs in Lambda, which extracts the metrics).
	Metrics io.Writer
}

// Parts are the AWS parts of one function, each built when the function
// first asks for it, and once: a function builds only the clients of the
// parts it asks for. The parts that link more (the verifier with every
// driver and STS, the SQS sender, the EventBridge publisher) are not here
// but in packages of their own (awsverify, awsqueue, awsevents), so that
// a function that does not ask for them does not link them either.
type Parts struct {
	cfg     Config
	awsCfg  aws.Config
	log     *slog.Logger
	ddb     *dynamodb.Client
	store   *dynamostore.Store
	metrics metrics.Recorder
}

// NewParts returns the parts of a function with configuration cfg and the
// service's own AWS configuration awsCfg (from awsenv.Load in the
// functions; the AWS_ENDPOINT_URL_<SERVICE> variables redirect its
// clients, which tests use). It builds nothing yet.
func NewParts(cfg Config, awsCfg aws.Config, opts Options) *Parts {
	out := opts.Metrics
	if out == nil {
		out = os.Stdout
	}
	return &Parts{cfg: cfg, awsCfg: awsCfg, log: newLogger(cfg, opts), metrics: &metrics.EMF{W: out}}
}

// Config is the function's typed configuration.
func (p *Parts) Config() Config { return p.cfg }

// AWS is the service's own AWS configuration.
func (p *Parts) AWS() aws.Config { return p.awsCfg }

// Logger is the function's JSON logger.
func (p *Parts) Logger() *slog.Logger { return p.log }

// dynamoDB is the one DynamoDB client of the function.
func (p *Parts) dynamoDB() *dynamodb.Client {
	if p.ddb == nil {
		p.ddb = dynamodb.NewFromConfig(p.awsCfg)
	}
	return p.ddb
}

// Store is the DynamoDB store on Config.Table.
func (p *Parts) Store() *dynamostore.Store {
	if p.store == nil {
		p.store = dynamostore.New(p.dynamoDB(), p.cfg.Table)
	}
	return p.store
}

// With are the parts of the API that only some functions ask for; the
// store, the rate limiter and the keys every HTTP function has. A nil
// part is one the function does not use.
type With struct {
	// Sealer seals and opens credentials (create, test, the bucket-verify
	// API): awsseal.New.
	Sealer seal.Sealer
	// Secrets reads the secrets of Config.CursorSecretID and
	// Config.VerifyKeySecretID (list, the verifications list, the
	// bucket-verify API): awssecrets.New. A function with a secret ID set
	// and no reader fails at init.
	Secrets SecretReader
	// Verifier runs the checks (create, test): awsverify.New.
	Verifier service.Verifier
	// Queue receives bucket verifications (the bucket-verify API):
	// awsqueue.New.
	Queue queue.Sender
	// Events receives the flips test/ causes: awsevents.New.
	Events changeevents.Publisher
}

// Service returns the service parts of the function: the store, the
// logger, the lease of a worker (VerifyDeadline plus LeaseOverDeadline),
// and those of with.
func (p *Parts) Service(with With) service.Parts {
	return service.Parts{
		Store:        p.Store(),
		Sealer:       with.Sealer,
		Verifier:     with.Verifier,
		Queue:        with.Queue,
		Events:       with.Events,
		AWSAccountID: p.cfg.AWSAccountID,
		GCPPrincipal: p.cfg.GCPPrincipal,
		VerifyOrgCap: p.cfg.VerifyOrgCap,
		LeaseTTL:     p.cfg.VerifyDeadline + LeaseOverDeadline,
		Logger:       p.log,
		// CloudWatch Embedded Metric Format lines on the function's
		// output, which CloudWatch Logs turns into metrics.
		Metrics: p.metrics,

		AzureFederation: httpapi.AzureFederation{Issuer: p.cfg.AzureFederationIssuer, Subject: p.cfg.AzureFederationSubject},
	}
}

// App wires the API of an HTTP function: the DynamoDB store, the cursor
// key (from Config.CursorSecretID, else random), the verification record
// key (when Config.VerifyKeySecretID is set), the rate limiter in the
// table (unless every limit is off) and the parts of with. Its only calls
// to AWS read those secrets.
func (p *Parts) App(ctx context.Context, with With) (*App, error) {
	sp := p.Service(with)
	var err error
	if sp.CursorKey, err = secretKey(ctx, with.Secrets, p.cfg.CursorSecretID, cursorKeyUse); err != nil {
		return nil, err
	}
	// The bucket-verify API: records keyed with the secret every instance
	// shares.
	if p.cfg.VerifyKeySecretID != "" {
		if sp.VerifyKey, err = secretKey(ctx, with.Secrets, p.cfg.VerifyKeySecretID, verifyKeyUse); err != nil {
			return nil, err
		}
	}
	// Rate limits: each key's token buckets, in the table, shared by
	// every instance of every function; a DynamoDB failure lets the
	// request through (httpapi).
	if p.cfg.RateLimits != (ratelimit.Limits{}) {
		if sp.Limiter, err = dynamolimit.New(p.dynamoDB(), p.cfg.Table, p.cfg.RateLimits, dynamolimit.Options{}); err != nil {
			return nil, fmt.Errorf("awsapp: %w", err)
		}
	}
	return &App{Server: sp.API()}, nil
}

// LeaseOverDeadline is how much longer than one verification
// (Config.VerifyDeadline) the worker's lease on a record lasts: time to
// open the credentials with KMS and write the result.
const LeaseOverDeadline = 5 * time.Second

// newLogger returns the JSON logger of a function.
func newLogger(cfg Config, opts Options) *slog.Logger {
	out := opts.Log
	if out == nil {
		out = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
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

// SecretReader returns the value of a Secrets Manager secret (its string,
// else its binary value).
type SecretReader func(ctx context.Context, secretID string) ([]byte, error)

// secretKey returns a 32-byte key for use: derived from the
// value of the Secrets Manager secret secretID when it is set, so that
// every instance of every function agrees, else random (right only for a
// function that never needs to agree, e.g. one that never sees a cursor).
func secretKey(ctx context.Context, read SecretReader, secretID string, use keyUse) ([]byte, error) {
	if secretID == "" {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("awsapp: random key: %w", err)
		}
		return key, nil
	}
	if read == nil {
		return nil, fmt.Errorf("awsapp: %s %s is set, but the function was wired without a secret reader (With.Secrets)", use.name, secretID)
	}
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	value, err := read(ctx, secretID)
	if err != nil {
		return nil, fmt.Errorf("awsapp: read %s %s: %w", use.name, secretID, err)
	}
	if len(value) < MinCursorSecretLen {
		return nil, fmt.Errorf("awsapp: %s %s: value shorter than %d bytes", use.name, secretID, MinCursorSecretLen)
	}
	// Derive rather than use the value directly.
	m := hmac.New(sha256.New, value)
	m.Write([]byte(use.label))
	return m.Sum(nil), nil
}
