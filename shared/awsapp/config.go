// Package awsapp wires the storage-configs and bucket-verify APIs for AWS,
// once per process, from a typed configuration read from the environment.
// A function asks Parts for what its endpoint calls, and builds only
// that: the DynamoDB store, the KMS sealer, the pagination cursor key and
// the verification record key from Secrets Manager, the rate limiter. The
// parts that link more are in packages of their own, so that a function
// that does not ask for them does not link them: awsverify (the verifier
// with every provider's driver, and STS), awsqueue (the SQS sender of
// verifications), awsevents (the EventBridge publisher). Parts.App
// assembles them with service.Parts, as `bucketlink serve` does, into a
// plain http.Handler, the same one the local process serves
// (httpapi.Server); NewConsumer and NewScheduler wire the queue functions.
// It knows nothing of Lambda, and of API Gateway only the domain name of a
// request's context, which the adapter puts there and the links are built
// on (publicurl.go): each functions/<name>/main.go loads the SDK
// configuration, asks for its parts and hands the handler to the Lambda
// adapter.
//
// The service's own AWS credentials reach DynamoDB, KMS, Secrets Manager
// and, for iam_role configs, STS AssumeRole only. The drivers that check a
// customer's bucket use the customer's credentials (their keys, or their
// role's temporary credentials), over the netguard dialer, exactly as in
// `bucketlink serve`.
//
// The pagination cursor key: cursors are HMAC-signed (httpapi), and every
// instance of the list function must agree on the key. It is derived from
// a Secrets Manager secret that the template generates at deploy time
// (64 random alphanumeric characters), read once at init by the functions
// that need it (NeedCursorKey). The key is thus in no template, environment
// variable or artifact, and replacing the secret only invalidates
// outstanding cursors. Functions that never see a cursor get a random key.
//
// The verification record key (NeedVerifyQueue) is derived the same way,
// with another label, from its own generated secret: every instance of the
// verify-bucket function must compute the same record key for the same
// request.
package awsapp

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Environment variables read by LoadConfig. The names shared with
// `bucketlink serve` mean the same there.
const (
	EnvTable          = "BUCKETLINK_TABLE"
	EnvKMSKeyID       = "BUCKETLINK_KMS_KEY_ID"
	EnvCursorSecretID = "BUCKETLINK_CURSOR_SECRET_ID"
	EnvAWSAccountID   = "BUCKETLINK_AWS_ACCOUNT_ID"
	EnvGCPPrincipal   = "BUCKETLINK_GCP_PRINCIPAL"
	EnvGCPIdentity    = "BUCKETLINK_GCP_IDENTITY"
	EnvAllowPrivate   = "BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS"
	EnvAWSS3Endpoint  = "BUCKETLINK_AWS_S3_ENDPOINT"
	EnvAWSSTSEndpoint = "BUCKETLINK_AWS_STS_ENDPOINT"
	EnvVerifyDeadline = "BUCKETLINK_VERIFY_DEADLINE"
	EnvLogLevel       = "BUCKETLINK_LOG_LEVEL"

	// EnvAzureFederatedToken: see Config.AzureFederatedToken.
	EnvAzureFederatedToken = "BUCKETLINK_AZURE_FEDERATED_TOKEN"
	// EnvAzureFederationIssuer and EnvAzureFederationSubject: see
	// Config.AzureFederation.
	EnvAzureFederationIssuer  = "BUCKETLINK_AZURE_FEDERATION_ISSUER"
	EnvAzureFederationSubject = "BUCKETLINK_AZURE_FEDERATION_SUBJECT"

	// EnvVerifyQueueURL is the SQS queue the bucket-verify API sends its
	// verifications to (the verify-bucket function).
	EnvVerifyQueueURL = "BUCKETLINK_VERIFY_QUEUE_URL"
	// EnvVerifyKeySecretID is the Secrets Manager secret whose value keys
	// the verification record keys (the verify-bucket function).
	EnvVerifyKeySecretID = "BUCKETLINK_VERIFY_KEY_SECRET_ID"
	// EnvEventBus is the EventBridge bus (name or ARN) that the
	// verify-worker function publishes verification changes to.
	EnvEventBus = "BUCKETLINK_EVENT_BUS"

	// The rate limits of the HTTP functions, per route class, in
	// ratelimit.ParseRate's form ("120/min,burst=60", or "off"); unset:
	// ratelimit.DefaultLimits. The same variables set `bucketlink serve`'s.
	EnvRateVerify = "BUCKETLINK_RATE_VERIFY"
	EnvRateWrite  = "BUCKETLINK_RATE_WRITE"
	EnvRateRead   = "BUCKETLINK_RATE_READ"

	// EnvVerifyOrgCap is how many bucket verifications one org may have
	// in connecting at once (1..store.MaxSlotLimit; unset: the handler's
	// default). The same variable sets `bucketlink serve`'s.
	EnvVerifyOrgCap = "BUCKETLINK_VERIFY_ORG_CAP"
	// EnvAppOrigins are the origins of the apps that use buckets from
	// browsers, comma-separated (https://app.example.com,...): the
	// bucket-verify worker sends the browser's CORS preflights from each.
	EnvAppOrigins = "BUCKETLINK_APP_ORIGINS"
)

// DefaultVerifyDeadline bounds one verification when EnvVerifyDeadline is
// unset.
const DefaultVerifyDeadline = 15 * time.Second

// MaxVerifyDeadline is the largest accepted verification deadline: API
// Gateway's HTTP API answers 503 after 30 seconds whatever the function
// does, and the function still has to seal and store after verifying.
const MaxVerifyDeadline = 25 * time.Second

// Need names a setting that only some functions require.
type Need int

// The optional settings a function can require.
const (
	// NeedCursorKey: the function signs or checks pagination cursors (the
	// list function), so EnvCursorSecretID is required.
	NeedCursorKey Need = iota + 1
	// NeedVerifyQueue: the function starts bucket verifications (the
	// verify-bucket function), so EnvVerifyQueueURL and
	// EnvVerifyKeySecretID are required.
	NeedVerifyQueue
	// NeedReverifyQueue: the function enqueues re-verifications (the
	// reverify-scheduler function), so EnvVerifyQueueURL is required.
	NeedReverifyQueue
	// NeedEventBus: the function publishes verification changes (the
	// verify-worker function), so EnvEventBus is required.
	NeedEventBus
)

// Config is the typed configuration of one function.
type Config struct {
	// Table is the DynamoDB table of the store (EnvTable, required).
	Table string
	// KMSKeyID is the KMS key that wraps the credentials' data keys: a key
	// id, key ARN or alias (EnvKMSKeyID, required).
	KMSKeyID string
	// CursorSecretID is the Secrets Manager secret (ARN or name) whose
	// value keys the HMAC of pagination cursors (EnvCursorSecretID).
	// Required with NeedCursorKey; when empty, the function gets a random
	// key of its own, which is right only if it never sees a cursor.
	CursorSecretID string
	// AWSAccountID is what setup-info reports (EnvAWSAccountID, required,
	// 12 digits).
	AWSAccountID string
	// GCPPrincipal is bucketlink's own Google principal, which setup-info
	// reports as gc_storage_principal (EnvGCPPrincipal, optional).
	GCPPrincipal string
	// GCPIdentity is bucketlink's own Google identity for gc_storage
	// impersonation configs (EnvGCPIdentity; see verifier.Options): on
	// Lambda, a workload-identity-federation file with AWS as the source,
	// shipped with the function.
	GCPIdentity string
	// AzureFederatedToken is bucketlink's own federated identity for
	// azure_blob workload_identity configs (EnvAzureFederatedToken; see
	// verifier.Options): on Lambda, "aws-sts" (the function's role, through
	// IAM outbound identity federation).
	AzureFederatedToken string
	// AzureFederationIssuer and AzureFederationSubject are what setup-info
	// reports as azure_federated_credential (optional): the account's
	// outbound identity federation issuer (aws iam
	// get-outbound-web-identity-federation-info) and the ARN of the role
	// the verifying functions run as.
	AzureFederationIssuer, AzureFederationSubject string
	// AllowPrivate lets user endpoints reach loopback, private and
	// link-local addresses (EnvAllowPrivate, default false; tests only).
	AllowPrivate bool
	// AWSS3Endpoint, when set, sends all aws_s3 traffic there
	// (EnvAWSS3Endpoint; tests and development only).
	AWSS3Endpoint string
	// AWSSTSEndpoint, when set, sends the AssumeRole calls of iam_role
	// configs there instead of to STS (EnvAWSSTSEndpoint; tests only).
	AWSSTSEndpoint string
	// VerifyDeadline bounds one verification (EnvVerifyDeadline, a Go
	// duration, default DefaultVerifyDeadline, at most MaxVerifyDeadline).
	// Keep it under the function's timeout minus a few seconds.
	VerifyDeadline time.Duration
	// LogLevel is the level of the JSON log on stderr (EnvLogLevel:
	// debug, info, warn or error; default info).
	LogLevel slog.Level
	// VerifyQueueURL is the SQS queue of bucket verifications
	// (EnvVerifyQueueURL). Required with NeedVerifyQueue.
	VerifyQueueURL string
	// VerifyKeySecretID is the Secrets Manager secret (ARN or name) whose
	// value keys verification record keys (EnvVerifyKeySecretID), so that
	// every instance finds the same record for the same request. Required
	// with NeedVerifyQueue.
	VerifyKeySecretID string
	// EventBus is the EventBridge bus, a name or an ARN, that verification
	// changes are published to (EnvEventBus). Required with NeedEventBus;
	// when empty, changes are only logged.
	EventBus string
	// RateLimits are each API key's token buckets per route class
	// (EnvRateVerify, EnvRateWrite, EnvRateRead; default
	// ratelimit.DefaultLimits), kept in the table by every instance.
	RateLimits ratelimit.Limits
	// VerifyOrgCap is EnvVerifyOrgCap; 0 means the handler's default.
	VerifyOrgCap int
	// AppOrigins are EnvAppOrigins, serialized (corscheck.ParseOrigins);
	// none when unset.
	AppOrigins []string
}

var accountIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })

// LoadConfig reads the configuration from getenv (os.Getenv in main). It
// checks everything and reports every wrong or missing variable at once,
// by name; values are never echoed, so nothing secret can leak into the
// init log.
func LoadConfig(getenv func(string) string, needs ...Need) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
	}
	required := func(name string) string {
		v := getenv(name)
		if v == "" {
			bad(name, "is required")
		}
		return v
	}
	c := Config{
		Table:             required(EnvTable),
		KMSKeyID:          required(EnvKMSKeyID),
		CursorSecretID:    getenv(EnvCursorSecretID),
		AWSAccountID:      required(EnvAWSAccountID),
		GCPPrincipal:      getenv(EnvGCPPrincipal),
		GCPIdentity:       getenv(EnvGCPIdentity),
		AWSS3Endpoint:     getenv(EnvAWSS3Endpoint),
		AWSSTSEndpoint:    getenv(EnvAWSSTSEndpoint),
		VerifyDeadline:    DefaultVerifyDeadline,
		VerifyQueueURL:    getenv(EnvVerifyQueueURL),
		VerifyKeySecretID: getenv(EnvVerifyKeySecretID),
		EventBus:          getenv(EnvEventBus),
		RateLimits:        ratelimit.DefaultLimits,

		AzureFederatedToken:    getenv(EnvAzureFederatedToken),
		AzureFederationIssuer:  getenv(EnvAzureFederationIssuer),
		AzureFederationSubject: getenv(EnvAzureFederationSubject),
	}
	for _, n := range needs {
		switch {
		case n == NeedCursorKey && c.CursorSecretID == "":
			bad(EnvCursorSecretID, "is required by this function (it signs pagination cursors)")
		case n == NeedVerifyQueue:
			if c.VerifyQueueURL == "" {
				bad(EnvVerifyQueueURL, "is required by this function (it starts bucket verifications)")
			}
			if c.VerifyKeySecretID == "" {
				bad(EnvVerifyKeySecretID, "is required by this function (it keys verification records)")
			}
		case n == NeedReverifyQueue && c.VerifyQueueURL == "":
			bad(EnvVerifyQueueURL, "is required by this function (it enqueues re-verifications)")
		case n == NeedEventBus && c.EventBus == "":
			bad(EnvEventBus, "is required by this function (it publishes verification changes)")
		}
	}
	if c.VerifyQueueURL != "" && !strings.HasPrefix(c.VerifyQueueURL, "https://") && !strings.HasPrefix(c.VerifyQueueURL, "http://") {
		bad(EnvVerifyQueueURL, "must be a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
	}
	if c.AWSAccountID != "" && !accountIDPattern().MatchString(c.AWSAccountID) {
		bad(EnvAWSAccountID, "must be a 12-digit AWS account id")
	}
	if v := getenv(EnvAllowPrivate); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(EnvAllowPrivate, "must be true or false")
		}
		c.AllowPrivate = b
	}
	if origins, err := corscheck.ParseOrigins(getenv(EnvAppOrigins)); err != nil {
		bad(EnvAppOrigins, "must be a comma-separated list of origins, each scheme://host[:port] (e.g. https://app.example.com), without a path")
	} else {
		c.AppOrigins = origins
	}
	if v := getenv(EnvVerifyOrgCap); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxSlotLimit {
			bad(EnvVerifyOrgCap, "must be a whole number from 1 to %d", store.MaxSlotLimit)
		}
		c.VerifyOrgCap = n
	}
	if v := getenv(EnvVerifyDeadline); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(EnvVerifyDeadline, "must be a duration such as 15s")
		case d <= 0 || d > MaxVerifyDeadline:
			bad(EnvVerifyDeadline, "must be positive and at most %s", MaxVerifyDeadline)
		default:
			c.VerifyDeadline = d
		}
	}
	for _, r := range []struct {
		name string
		rate *ratelimit.Rate
	}{{EnvRateVerify, &c.RateLimits.Verify}, {EnvRateWrite, &c.RateLimits.Write}, {EnvRateRead, &c.RateLimits.Read}} {
		if v := getenv(r.name); v != "" {
			rate, err := ratelimit.ParseRate(v)
			if err != nil {
				bad(r.name, "must be a rate such as 120/min,burst=60, or off")
			}
			*r.rate = rate
		}
	}
	if v := getenv(EnvLogLevel); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad(EnvLogLevel, "must be debug, info, warn or error")
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("awsapp: configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
