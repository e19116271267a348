package main

import (
	"context"
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
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verify"
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
	VerifyDeadline time.Duration
	LogLevel       slog.Level

	// Provider endpoint overrides: operator settings for emulators in
	// tests and development, never request fields (see anyblob.Opener).
	GCSEndpoint       string
	GCSHMACEndpoint   string
	GCSHMACRegion     string
	AzureBlobEndpoint string
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
	fs.StringVar(&c.AzureBlobEndpoint, "azure-blob-endpoint", os.Getenv("BUCKETLINK_AZURE_BLOB_ENDPOINT"), "EMULATOR ONLY: send the traffic of azure_blob configs without azure_endpoint_url to {this}/{account}/ (e.g. Azurite)")
	fs.StringVar(&c.AWSAccountID, "aws-account-id", envOr("BUCKETLINK_AWS_ACCOUNT_ID", "000000000000"), "account id shown by setup-info")
	deadline, err := time.ParseDuration(envOr("BUCKETLINK_VERIFY_DEADLINE", "15s"))
	if err != nil {
		return c, fmt.Errorf("BUCKETLINK_VERIFY_DEADLINE: %w", err)
	}
	fs.DurationVar(&c.VerifyDeadline, "verify-deadline", deadline, "deadline of one verification")
	level := fs.String("log-level", envOr("BUCKETLINK_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	if c.VerifyDeadline <= 0 {
		return c, fmt.Errorf("--verify-deadline must be positive")
	}
	for _, o := range []struct{ flag, value string }{
		{"--gcs-endpoint", c.GCSEndpoint}, {"--gcs-hmac-endpoint", c.GCSHMACEndpoint}, {"--azure-blob-endpoint", c.AzureBlobEndpoint},
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
	roles, err := awsrole.NewFromConfig(awsCfg, cfg.AWSSTSEndpoint, awsrole.Options{})
	if err != nil {
		return fmt.Errorf("--aws-sts-endpoint: %w", err)
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
	policy := netguard.Policy{AllowPrivate: cfg.AllowPrivate}
	api := &httpapi.Server{
		Store:  st,
		Sealer: sealer,
		Verifier: &verify.Verifier{
			// Every provider's driver, over one SSRF-safe client.
			Opener: &anyblob.Opener{
				HTTPClient:        policy.HTTPClient(),
				S3:                &s3blob.Opener{AWSEndpoint: cfg.AWSS3Endpoint, Roles: roles, Orgs: st},
				GCSEndpoint:       cfg.GCSEndpoint,
				GCSHMACEndpoint:   cfg.GCSHMACEndpoint,
				GCSHMACRegion:     cfg.GCSHMACRegion,
				AzureBlobEndpoint: cfg.AzureBlobEndpoint,
			},
			Deadline: cfg.VerifyDeadline,
		},
		CursorKey:    sealer.DeriveKey("pagination-cursor"),
		AWSAccountID: cfg.AWSAccountID,
		Logger:       log,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler(),
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
	fmt.Fprintf(stdout, "bucketlink listening on http://%s\n", ln.Addr())
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
