package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/service"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verifier"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// serveConfig is the typed configuration of `bucketlink serve`, from flags
// with environment defaults.
type serveConfig struct {
	Addr           string
	Data           string
	AllowPrivate   bool
	AWSS3Endpoint  string
	AWSSTSEndpoint string
	AWSAccountID   string
	GCPPrincipal   string
	VerifyDeadline time.Duration
	LogLevel       slog.Level

	// The asynchronous bucket-verify API: its in-process worker pool,
	// how long a verification may stay connecting, a run's lease, and
	// how many verifications one org may have in connecting at once.
	VerifyWorkers        int
	VerifyRecordDeadline time.Duration
	VerifyLease          time.Duration
	VerifyOrgCap         int

	// ReverifyPeriod is how often the in-process re-verification
	// scheduler runs (on AWS, the EventBridge schedule's rate).
	ReverifyPeriod time.Duration

	// RateLimits are each API key's token buckets per route class, kept
	// in this process's memory (--rate-verify, --rate-write, --rate-read).
	RateLimits ratelimit.Limits

	// Provider endpoint overrides: operator settings for emulators in
	// tests and development, never request fields (see anyblob.Opener).
	GCSEndpoint       string
	GCSHMACEndpoint   string
	GCSHMACRegion     string
	AzureBlobEndpoint string
	// AzureAuthorityHost, AzureFederatedToken: see verifier.Options.
	AzureAuthorityHost, AzureFederatedToken string
	// AzureFederation: see httpapi.Server.
	AzureFederation httpapi.AzureFederation
	// GCPIdentity, GCPSTSEndpoint, GCPIAMCredentialsEndpoint: see
	// verifier.Options.
	GCPIdentity, GCPSTSEndpoint, GCPIAMCredentialsEndpoint string

	// TLSCert and TLSKey, both or neither, are PEM files: with them serve
	// speaks HTTPS (clients such as avala refuse plain-HTTP base URLs but
	// for localhost).
	TLSCert, TLSKey string

	// PublicURL is the base of the links the API writes (next, previous,
	// Location); nil means the scheme and address serve listens on.
	PublicURL *url.URL

	// AppOrigins are the origins of the apps that use buckets from
	// browsers (--app-origin, BUCKETLINK_APP_ORIGINS): bucket-verify
	// sends the browser's CORS preflights from each.
	AppOrigins []string
}

func parseServeConfig(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:"+envOr("PORT", "8080"), "listen address")
	fs.StringVar(&c.Data, "data", envOr("BUCKETLINK_DATA", ".data"), "data directory (SQLite file, master key, admin key)")
	allowDefault, err := strconv.ParseBool(envOr("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "false"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS: %w", err)
	}
	fs.BoolVar(&c.AllowPrivate, "allow-private-endpoints", allowDefault, "allow user endpoints on loopback, private and link-local addresses (development only)")
	fs.StringVar(&c.AWSS3Endpoint, "aws-s3-endpoint", os.Getenv("BUCKETLINK_AWS_S3_ENDPOINT"), "send all aws_s3 traffic to this endpoint (e.g. a local MinIO)")
	fs.StringVar(&c.AWSSTSEndpoint, "aws-sts-endpoint", os.Getenv("BUCKETLINK_AWS_STS_ENDPOINT"), "send the AssumeRole calls of iam_role configs to this STS endpoint (e.g. a local moto)")
	fs.StringVar(&c.GCSEndpoint, "gcs-endpoint", os.Getenv("BUCKETLINK_GCS_ENDPOINT"), "EMULATOR ONLY: send the JSON API traffic of gc_storage service-account configs, unauthenticated, to this endpoint (e.g. fake-gcs-server)")
	fs.StringVar(&c.GCSHMACEndpoint, "gcs-hmac-endpoint", os.Getenv("BUCKETLINK_GCS_HMAC_ENDPOINT"), "send the traffic of gc_storage HMAC configs to this S3-compatible endpoint instead of "+anyblob.GoogleHMACEndpoint+" (e.g. a local MinIO)")
	fs.StringVar(&c.GCSHMACRegion, "gcs-hmac-region", envOr("BUCKETLINK_GCS_HMAC_REGION", anyblob.GoogleHMACRegion), "region gc_storage HMAC requests are signed for (MinIO: us-east-1)")
	fs.StringVar(&c.GCPIdentity, "gcp-identity", os.Getenv("BUCKETLINK_GCP_IDENTITY"), "bucketlink's own Google identity for gc_storage impersonation configs: \"adc\" (Application Default Credentials) or a credential configuration file (e.g. workload identity federation with AWS as the source); unset: such configs fail")
	fs.StringVar(&c.GCPSTSEndpoint, "gcp-sts-endpoint", os.Getenv("BUCKETLINK_GCP_STS_ENDPOINT"), "TESTS ONLY: replaces "+gcsblob.GoogleSTSURL)
	fs.StringVar(&c.GCPIAMCredentialsEndpoint, "gcp-iamcredentials-endpoint", os.Getenv("BUCKETLINK_GCP_IAMCREDENTIALS_ENDPOINT"), "TESTS ONLY: replaces "+gcsblob.GoogleIAMCredentialsURL)
	fs.StringVar(&c.AzureBlobEndpoint, "azure-blob-endpoint", os.Getenv("BUCKETLINK_AZURE_BLOB_ENDPOINT"), "EMULATOR ONLY: send the traffic of azure_blob configs without azure_endpoint_url to {this}/{account}/ (e.g. Azurite)")
	fs.StringVar(&c.AzureAuthorityHost, "azure-authority-host", os.Getenv("BUCKETLINK_AZURE_AUTHORITY_HOST"), "TESTS ONLY: the Entra ID authority (https) of azure_blob service-principal configs, replacing their cloud's (e.g. infra/testenv/entrafake)")
	fs.StringVar(&c.AzureFederatedToken, "azure-federated-token", os.Getenv("BUCKETLINK_AZURE_FEDERATED_TOKEN"), "bucketlink's own federated identity for azure_blob workload_identity configs: \"aws-sts\" (sts:GetWebIdentityToken with bucketlink's AWS credentials) or \"file:PATH\" (a JWT, read at every sign-in); unset: such configs fail")
	fs.StringVar(&c.AzureFederation.Issuer, "azure-federation-issuer", os.Getenv("BUCKETLINK_AZURE_FEDERATION_ISSUER"), "issuer of bucketlink's own tokens (--azure-federated-token), shown by setup-info in azure_federated_credential with --azure-federation-subject")
	fs.StringVar(&c.AzureFederation.Subject, "azure-federation-subject", os.Getenv("BUCKETLINK_AZURE_FEDERATION_SUBJECT"), "subject of bucketlink's own tokens (on AWS, its role ARN), shown by setup-info")
	fs.StringVar(&c.TLSCert, "tls-cert", os.Getenv("BUCKETLINK_TLS_CERT"), "PEM certificate (chain) file: serve HTTPS, with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", os.Getenv("BUCKETLINK_TLS_KEY"), "PEM private key file of --tls-cert")
	publicURL := fs.String("public-url", os.Getenv("BUCKETLINK_PUBLIC_URL"), "base URL of the links the API writes (next, previous, Location), e.g. https://bucketlink.example.com; default the scheme and address serve listens on, never the request's Host")
	fs.StringVar(&c.AWSAccountID, "aws-account-id", envOr("BUCKETLINK_AWS_ACCOUNT_ID", "000000000000"), "account id shown by setup-info")
	fs.StringVar(&c.GCPPrincipal, "gcp-principal", os.Getenv("BUCKETLINK_GCP_PRINCIPAL"), "bucketlink's own Google principal, shown by setup-info as gc_storage_principal (unset: not shown)")
	deadline, err := time.ParseDuration(envOr("BUCKETLINK_VERIFY_DEADLINE", "15s"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_DEADLINE: %w", err)
	}
	fs.DurationVar(&c.VerifyDeadline, "verify-deadline", deadline, "deadline of one verification")
	workers, err := strconv.Atoi(envOr("BUCKETLINK_VERIFY_WORKERS", "4"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_WORKERS: %w", err)
	}
	fs.IntVar(&c.VerifyWorkers, "verify-workers", workers, "concurrent bucket-verify runs (the in-process worker pool)")
	recordDeadline, err := time.ParseDuration(envOr("BUCKETLINK_VERIFY_RECORD_DEADLINE", verification.DefaultRecordDeadline.String()))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_RECORD_DEADLINE: %w", err)
	}
	fs.DurationVar(&c.VerifyRecordDeadline, "verify-record-deadline", recordDeadline, "how long a bucket-verify verification may stay connecting before it reads as timed out")
	lease, err := time.ParseDuration(envOr("BUCKETLINK_VERIFY_LEASE", "0s"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_LEASE: %w", err)
	}
	fs.DurationVar(&c.VerifyLease, "verify-lease", lease, "lease of one bucket-verify run, longer than --verify-deadline (0: that plus 5s); a run abandoned by a dead worker is taken over after it")
	orgCap, err := strconv.Atoi(envOr("BUCKETLINK_VERIFY_ORG_CAP", strconv.Itoa(httpapi.DefaultVerifyOrgCap)))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_ORG_CAP: %w", err)
	}
	fs.IntVar(&c.VerifyOrgCap, "verify-org-cap", orgCap, "bucket-verify verifications one org may have connecting at once; past it, new ones are told to wait")
	period, err := time.ParseDuration(envOr("BUCKETLINK_REVERIFY_PERIOD", defaultReverifyPeriod.String()))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_REVERIFY_PERIOD: %w", err)
	}
	fs.DurationVar(&c.ReverifyPeriod, "reverify-period", period, "how often the re-verification scheduler enqueues the stored configs that are due")
	c.RateLimits = ratelimit.DefaultLimits
	for _, r := range []struct {
		flag, env, what string
		rate            *ratelimit.Rate
	}{
		{"rate-verify", "BUCKETLINK_RATE_VERIFY", "bucket-verify requests (both routes)", &c.RateLimits.Verify},
		{"rate-write", "BUCKETLINK_RATE_WRITE", "storage-config creates, tests, edits and deletes", &c.RateLimits.Write},
		{"rate-read", "BUCKETLINK_RATE_READ", "storage-config lists, gets, setup-info and verification histories", &c.RateLimits.Read},
	} {
		if v := os.Getenv(r.env); v != "" {
			if err := r.rate.Set(v); err != nil {
				return c, fmt.Errorf("%s: %w", r.env, err)
			}
		}
		fs.Var(r.rate, r.flag, "rate limit of each API key's "+r.what+": COUNT/PERIOD[,burst=N] (e.g. 120/min,burst=60), or off")
	}
	envOrigins, err := corscheck.ParseOrigins(os.Getenv("BUCKETLINK_APP_ORIGINS"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_APP_ORIGINS: %w", err)
	}
	var flagOrigins []string
	originsGiven := false
	fs.Func("app-origin", "origin of an app that uses buckets from browsers, e.g. https://app.example.com (repeat it, or give a comma-separated list; default BUCKETLINK_APP_ORIGINS): bucket-verify checks the bucket's CORS rules from each", func(v string) error {
		o, err := corscheck.ParseOrigins(v)
		originsGiven, flagOrigins = true, append(flagOrigins, o...)
		return err
	})
	level := fs.String("log-level", envOr("BUCKETLINK_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	c.AppOrigins = envOrigins
	if originsGiven {
		if c.AppOrigins, err = corscheck.ParseOrigins(strings.Join(flagOrigins, ",")); err != nil {
			return c, fmt.Errorf("--app-origin: %w", err)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	if c.VerifyDeadline <= 0 {
		return c, fmt.Errorf("--verify-deadline must be positive")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if *publicURL != "" {
		if c.PublicURL, err = httpapi.ParsePublicURL(*publicURL); err != nil {
			return c, fmt.Errorf("--public-url: %w", err)
		}
	}
	if c.VerifyLease == 0 {
		c.VerifyLease = c.VerifyDeadline + leaseOverDeadline
	}
	switch {
	case c.VerifyWorkers < 1 || c.VerifyWorkers > 256:
		return c, fmt.Errorf("--verify-workers must be 1 to 256")
	case c.VerifyOrgCap < 1 || c.VerifyOrgCap > store.MaxSlotLimit:
		return c, fmt.Errorf("--verify-org-cap must be 1 to %d", store.MaxSlotLimit)
	case c.ReverifyPeriod <= 0:
		return c, fmt.Errorf("--reverify-period must be positive")
	case c.VerifyRecordDeadline <= 0:
		return c, fmt.Errorf("--verify-record-deadline must be positive")
	case c.VerifyLease <= c.VerifyDeadline:
		return c, fmt.Errorf("--verify-lease must be longer than --verify-deadline, so that a run ends while its lease holds")
	case c.VerifyLease >= c.VerifyRecordDeadline:
		return c, fmt.Errorf("--verify-lease must be shorter than --verify-record-deadline, so that abandoned runs can be taken over")
	}
	for _, o := range []struct{ flag, value string }{
		{"--gcs-endpoint", c.GCSEndpoint}, {"--gcs-hmac-endpoint", c.GCSHMACEndpoint}, {"--azure-blob-endpoint", c.AzureBlobEndpoint},
		{"--gcp-sts-endpoint", c.GCPSTSEndpoint}, {"--azure-authority-host", c.AzureAuthorityHost}, {"--gcp-iamcredentials-endpoint", c.GCPIAMCredentialsEndpoint},
	} {
		if u, err := url.Parse(o.value); o.value != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return c, fmt.Errorf("%s must be an absolute http or https URL", o.flag)
		}
	}
	if c.GCSHMACRegion == "" {
		return c, fmt.Errorf("--gcs-hmac-region must not be empty")
	}
	return c, nil
}

// defaultReverifyPeriod is how often `serve` runs the re-verification
// scheduler by default.
const defaultReverifyPeriod = time.Minute

// Test hooks of serve, set by tests before it starts: the clock of the
// re-verification scheduler and worker (nil: the real time), and a
// publisher that also receives every change event (nil: none).
var (
	serveClock  func() time.Time
	serveEvents changeevents.Publisher
)

// leaseOverDeadline is how much longer than one verification a run's
// lease lasts by default: time to open credentials and write the result.
const leaseOverDeadline = 5 * time.Second

// serve runs the whole API as one process until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeConfig(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// The service's own AWS credentials (the SDK's default chain) are used
	// for one thing: STS AssumeRole of customers' roles (iam_role configs).
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration (for STS AssumeRole): %w", err)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := sqlitestore.Open(ctx, filepath.Join(cfg.Data, "bucketlink.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := localseal.Open(filepath.Join(cfg.Data, "master.key"))
	if err != nil {
		return err
	}
	key, err := provision.Bootstrap(ctx, st, cfg.Data)
	if err != nil {
		return err
	}
	if key != "" {
		fmt.Fprintf(stdout, "Created org %q and an admin API key (shown once; also saved to %s):\n\n    %s\n\n",
			provision.DefaultOrgSlug, filepath.Join(cfg.Data, provision.AdminKeyFile), key)
	}
	// Every provider's driver, over one SSRF-safe client.
	v, err := verifier.New(awsCfg, st, verifier.Options{
		AllowPrivate:      cfg.AllowPrivate,
		AWSS3Endpoint:     cfg.AWSS3Endpoint,
		AWSSTSEndpoint:    cfg.AWSSTSEndpoint,
		GCSEndpoint:       cfg.GCSEndpoint,
		GCSHMACEndpoint:   cfg.GCSHMACEndpoint,
		GCSHMACRegion:     cfg.GCSHMACRegion,
		AzureBlobEndpoint: cfg.AzureBlobEndpoint,
		GCPIdentity:       cfg.GCPIdentity,
		GCPSTSEndpoint:    cfg.GCPSTSEndpoint,
		Deadline:          cfg.VerifyDeadline,
		AppOrigins:        cfg.AppOrigins,

		GCPIAMCredentialsEndpoint: cfg.GCPIAMCredentialsEndpoint,
		AzureAuthorityHost:        cfg.AzureAuthorityHost,
		AzureFederatedToken:       cfg.AzureFederatedToken,
	})
	if err != nil {
		return fmt.Errorf("--aws-sts-endpoint: %w", err)
	}
	// The bucket-verify API's worker pool: the in-process stand-in for
	// SQS and the verify-worker function, and the sweep that stands in
	// for DynamoDB's TTL.
	events := changeevents.Fanout{changeevents.LogPublisher{Logger: log}}
	if serveEvents != nil {
		events = append(events, serveEvents)
	}
	// What is counted and timed, served at GET /metrics in Prometheus's
	// text format (on Lambda the same names go out as EMF log lines).
	reg := &metrics.Registry{}
	parts := service.Parts{
		Metrics:              reg,
		Store:                st,
		Sealer:               sealer,
		Verifier:             v,
		Events:               events,
		CursorKey:            sealer.DeriveKey("pagination-cursor"),
		VerifyKey:            sealer.DeriveKey("verification-record-key"),
		AWSAccountID:         cfg.AWSAccountID,
		GCPPrincipal:         cfg.GCPPrincipal,
		AzureFederation:      cfg.AzureFederation,
		VerifyRecordDeadline: cfg.VerifyRecordDeadline,
		VerifyOrgCap:         cfg.VerifyOrgCap,
		LeaseTTL:             cfg.VerifyLease,
		Clock:                serveClock,
		Logger:               log,
	}
	// Rate limits: each key's token buckets in this process's memory.
	if cfg.RateLimits != (ratelimit.Limits{}) {
		if parts.Limiter, err = ratelimit.NewMemory(cfg.RateLimits); err != nil {
			return err
		}
	}
	pool, err := startVerifyPool(ctx, cfg, st, parts, log)
	if err != nil {
		return err
	}
	defer pool.stop()
	parts.Queue = pool.queue
	api := parts.API()
	log.Info("rate limits per API key", slog.String("limits", cfg.RateLimits.String()))
	ln, scheme, err := listen(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           withMetrics(httpapi.WithPublicURL(api.Handler(), servePublicURL(cfg, scheme, ln.Addr())), reg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.VerifyDeadline + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("data", cfg.Data),
		slog.Bool("allow_private_endpoints", cfg.AllowPrivate))
	if cfg.GCSEndpoint != "" || cfg.AzureBlobEndpoint != "" {
		log.Warn("emulator endpoints set: gc_storage and azure_blob traffic does not go to Google and Azure",
			slog.String("gcs_endpoint", cfg.GCSEndpoint), slog.String("azure_blob_endpoint", cfg.AzureBlobEndpoint))
	}
	fmt.Fprintf(stdout, "bucketlink listening on %s://%s\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// verifyPool is the running worker pool of the bucket-verify API and of
// re-verification, with its periodic jobs.
type verifyPool struct {
	queue  *memqueue.Queue
	cancel context.CancelFunc
	jobs   sync.WaitGroup
}

// startVerifyPool starts the in-process queue whose workers run
// bucket verifications (queue.KindVerify) and re-verifications of stored
// configs (queue.KindReverify), the periodic sweep of expired records, and
// the re-verification scheduler that feeds the queue. The queue keeps its
// journal in the SQLite file and starts by delivering what a previous
// process left there.
func startVerifyPool(ctx context.Context, cfg serveConfig, st *sqlitestore.Store, parts service.Parts, log *slog.Logger) (*verifyPool, error) {
	_, _, mux := parts.Consumer()
	q, err := memqueue.New(mux.Handle, memqueue.Options{
		Workers:     cfg.VerifyWorkers,
		MaxAttempts: verifyworker.MaxAttempts(cfg.VerifyLease, cfg.VerifyRecordDeadline),
		RetryDelay:  verifyworker.RetryDelay(cfg.VerifyLease),
		OnDeadLetter: func(d memqueue.DeadLetter) {
			log.Warn("message given up after its last delivery", slog.String("kind", string(d.Message.Kind)), slog.String("key", d.Message.Key),
				slog.Int("deliveries", d.Message.Attempt), slog.String("error", d.Err.Error()))
		},
		// Durable: what was accepted and not finished when the process
		// died (kill -9 included) is delivered again at the next start.
		Journal:        st.QueueJournal(),
		OnJournalError: func(err error) { log.Warn("queue journal", slog.String("error", err.Error())) },
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := q.Start(ctx); err != nil {
		cancel()
		return nil, err
	}
	p := &verifyPool{queue: q, cancel: cancel}
	p.jobs.Go(func() { verifyworker.Sweep(ctx, st, sweepEvery, log) })
	sched := &reverify.Scheduler{Store: st, Sender: q, Clock: serveClock, Logger: log}
	p.jobs.Go(func() { sched.Run(ctx, cfg.ReverifyPeriod) })
	return p, nil
}

// sweepEvery is how often expired verification records are deleted.
const sweepEvery = time.Minute

// stop stops the pool at once: running and queued verifications are
// abandoned, and stay in the queue's journal: the next start delivers
// them again (a run cut short is taken over once its lease expires), and
// whatever is past its record's deadline reads as timed out.
func (p *verifyPool) stop() {
	p.cancel()
	p.queue.Close()
	p.jobs.Wait()
}

// servePublicURL is the base of the API's links: --public-url, else the
// scheme and address serve listens on (localhost for an unspecified
// address such as :8080, which names no host a client could use).
func servePublicURL(cfg serveConfig, scheme string, addr net.Addr) *url.URL {
	if cfg.PublicURL != nil {
		return cfg.PublicURL
	}
	host := addr.String()
	if h, port, err := net.SplitHostPort(host); err == nil {
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			host = net.JoinHostPort("localhost", port)
		}
	}
	return &url.URL{Scheme: scheme, Host: host}
}

// listen opens the listening socket of serve: plain TCP, or TLS (1.2 and
// later) with the configured certificate, loaded now so that a bad one
// fails at start-up. It returns the URL scheme it serves.
func listen(cfg serveConfig) (net.Listener, string, error) {
	var tlsCfg *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, "", err
	}
	if tlsCfg == nil {
		return ln, "http", nil
	}
	return tls.NewListener(ln, tlsCfg), "https", nil
}

// withMetrics serves reg at GET /metrics, and every other request with
// api. The metrics hold counts by provider, check code and route class,
// nothing of one org or config, so they are served without a key, like
// any Prometheus target; `bucketlink serve` listens on loopback unless
// told otherwise.
func withMetrics(api http.Handler, reg *metrics.Registry) http.Handler {
	m := reg.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			m.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
