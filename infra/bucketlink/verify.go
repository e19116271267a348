package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verifier"
)

// verifyHelp is the help of `bucketlink verify` (-h), exit codes included.
const verifyHelp = `usage: bucketlink verify --provider P --bucket B [flags]

Runs the checks of the storage-configs API (list, read, write, delete)
against a bucket from this machine, with the API's codes, messages and
fixes, and stores nothing. The flags and secrets make the body of a
create request (POST /api/v1/storage-configs/), which is validated as the
API validates it; the checks are the API's, through the same verifier.

Secrets never go on the command line, where ps shows them:
  aws_s3, s3_compatible    AWS_ACCESS_KEY_ID, and AWS_SECRET_ACCESS_KEY or --secret-file
  aws_s3 --auth-method iam_role
                           --role-arn and --external-id (your org's, from setup-info);
                           the role is assumed with this machine's own AWS configuration
  gc_storage               --credentials-file FILE or GOOGLE_APPLICATION_CREDENTIALS
                           (a service-account JSON key), or with --auth-method hmac:
                           BUCKETLINK_GCS_HMAC_ACCESS_ID, and BUCKETLINK_GCS_HMAC_SECRET or --secret-file
  azure_blob               --account (or AZURE_STORAGE_ACCOUNT), and AZURE_STORAGE_KEY or
                           AZURE_STORAGE_SAS_TOKEN, or --secret-file (--auth-method key|sas)
  --secret-file - reads the secret from standard input.

Progress is drawn live on a terminal (plain lines otherwise) on standard
error; the table of checks and what to fix, or with --json the API's
result ({"verified", "errors", "checks"}), go to standard output.

Exit codes:
  0  every check passed
  1  a check failed: the table says which, and what to fix
  2  the checks could not run: bad flags, a request the API would refuse,
     no credentials, or no answer from the provider (network unusable)

Flags:
`

// verifyFlags are the flags of `bucketlink verify`.
type verifyFlags struct {
	provider, name, bucket, prefix, region, endpoint, authMethod string
	roleARN, externalID, org, account                            string
	cloudfrontDomain, cloudfrontKeyID                            string
	pathStyle, accelerated                                       optionalBool
	secretFile, credentialsFile                                  string
	json                                                         bool
	verifier                                                     func() (verifier.Options, error)
}

// optionalBool is a boolean flag that knows whether it was given, so that
// only the fields the operator set go into the request.
type optionalBool struct{ set, value bool }

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

func parseVerifyFlags(args []string, stderr io.Writer) (*verifyFlags, error) {
	if err := refuseSecretFlags(args); err != nil {
		return nil, cannotRun(err)
	}
	f := &verifyFlags{}
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyHelp)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.provider, "provider", "", "aws_s3, s3_compatible, gc_storage or azure_blob")
	fs.StringVar(&f.name, "name", "bucketlink verify", "the config's name (validated as the API does; stored nowhere)")
	fs.StringVar(&f.bucket, "bucket", "", "bucket (azure_blob: container)")
	fs.StringVar(&f.prefix, "prefix", "", "prefix the checks work under")
	fs.StringVar(&f.region, "region", "", "bucket region (S3)")
	fs.StringVar(&f.endpoint, "endpoint", "", "storage endpoint URL (s3_compatible, azure_blob)")
	fs.StringVar(&f.authMethod, "auth-method", "", "S3: access_key or iam_role; gc_storage: service_account or hmac; azure_blob: key or sas (which secret --secret-file holds)")
	fs.StringVar(&f.roleARN, "role-arn", "", "the role to assume (S3 iam_role)")
	fs.StringVar(&f.externalID, "external-id", "", "your org's external id, which the role's trust policy requires (S3 iam_role)")
	fs.StringVar(&f.org, "org", "verify", "org slug in the role session name (S3 iam_role)")
	fs.StringVar(&f.account, "account", os.Getenv("AZURE_STORAGE_ACCOUNT"), "storage account name (azure_blob)")
	fs.StringVar(&f.cloudfrontDomain, "cloudfront-domain", "", "CloudFront domain (aws_s3)")
	fs.StringVar(&f.cloudfrontKeyID, "cloudfront-public-key-id", "", "CloudFront public key id (aws_s3)")
	fs.Var(&f.pathStyle, "path-style", "path-style addressing (s3_compatible)")
	fs.Var(&f.accelerated, "accelerated", "S3 Transfer Acceleration (aws_s3)")
	fs.StringVar(&f.secretFile, "secret-file", "", "file holding the secret of the auth method; - reads standard input")
	fs.StringVar(&f.credentialsFile, "credentials-file", "", "service-account JSON key file (gc_storage); - reads standard input")
	fs.BoolVar(&f.json, "json", false, "print the API's result shape instead of the table")
	f.verifier = addVerifierFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flag.ErrHelp
		}
		return nil, cannotRun(err)
	}
	if fs.NArg() > 0 {
		return nil, cannotRun(fmt.Errorf("verify takes no arguments, only flags: %q", fs.Arg(0)))
	}
	if f.provider == "" {
		return nil, cannotRun(errors.New("--provider is required: aws_s3, s3_compatible, gc_storage or azure_blob"))
	}
	return f, nil
}

// addVerifierFlags declares the operator's verifier settings, with the
// environment defaults `bucketlink serve` reads, and returns their value.
func addVerifierFlags(fs *flag.FlagSet) func() (verifier.Options, error) {
	var o verifier.Options
	allow := fs.String("allow-private-endpoints", envOr("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "false"), "allow endpoints on loopback and private addresses, and plain http (emulators only)")
	fs.StringVar(&o.AWSS3Endpoint, "aws-s3-endpoint", os.Getenv("BUCKETLINK_AWS_S3_ENDPOINT"), "send all aws_s3 traffic to this endpoint (e.g. a local MinIO)")
	fs.StringVar(&o.AWSSTSEndpoint, "aws-sts-endpoint", os.Getenv("BUCKETLINK_AWS_STS_ENDPOINT"), "send the AssumeRole calls of iam_role to this STS endpoint")
	fs.StringVar(&o.GCSEndpoint, "gcs-endpoint", os.Getenv("BUCKETLINK_GCS_ENDPOINT"), "EMULATOR ONLY: gc_storage JSON API endpoint, unauthenticated")
	fs.StringVar(&o.GCSHMACEndpoint, "gcs-hmac-endpoint", os.Getenv("BUCKETLINK_GCS_HMAC_ENDPOINT"), "S3-compatible endpoint of gc_storage HMAC traffic")
	fs.StringVar(&o.GCSHMACRegion, "gcs-hmac-region", envOr("BUCKETLINK_GCS_HMAC_REGION", anyblob.GoogleHMACRegion), "region gc_storage HMAC requests are signed for")
	fs.StringVar(&o.AzureBlobEndpoint, "azure-blob-endpoint", os.Getenv("BUCKETLINK_AZURE_BLOB_ENDPOINT"), "EMULATOR ONLY: azure_blob endpoint {this}/{account}/")
	deadline := fs.String("verify-deadline", envOr("BUCKETLINK_VERIFY_DEADLINE", "15s"), "deadline of the verification")
	return func() (verifier.Options, error) {
		var err error
		if o.AllowPrivate, err = strconv.ParseBool(*allow); err != nil {
			return o, fmt.Errorf("--allow-private-endpoints (BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS): %w", err)
		}
		if o.Deadline, err = time.ParseDuration(*deadline); err != nil || o.Deadline <= 0 {
			return o, fmt.Errorf("--verify-deadline (BUCKETLINK_VERIFY_DEADLINE) must be a positive duration, not %q", *deadline)
		}
		return o, nil
	}
}

// requestBody is the create request the flags and secrets make, in the
// API's field names: only what the operator gave is in it, so that the
// API's own validation says what is missing or does not apply.
func (f *verifyFlags) requestBody(s secrets) map[string]any {
	body := map[string]any{"name": f.name, "provider": f.provider}
	put := func(field, v string) {
		if v != "" {
			body[field] = v
		}
	}
	bucket, prefix, endpoint, auth := "s3_bucket_name", "s3_bucket_prefix", "s3_endpoint_url", "s3_auth_method"
	switch f.provider {
	case string(gcs.Name):
		// No endpoint field: s3_endpoint_url is refused as not applying.
		bucket, prefix, auth = "gc_storage_bucket_name", "gc_storage_prefix", "gc_storage_auth_method"
	case string(azure.Name):
		// Azure's auth is the secret given (key or SAS): no field.
		bucket, prefix, endpoint, auth = "azure_container_name", "azure_prefix", "azure_endpoint_url", ""
		put("azure_account_name", f.account)
	}
	put(bucket, f.bucket)
	put(prefix, f.prefix)
	put(endpoint, f.endpoint)
	put("s3_bucket_region", f.region)
	if auth != "" {
		put(auth, f.authMethod)
	}
	put("s3_role_arn", f.roleARN)
	put("s3_cloudfront_domain", f.cloudfrontDomain)
	put("s3_cloudfront_public_key_id", f.cloudfrontKeyID)
	if f.pathStyle.set {
		body["s3_use_path_style"] = f.pathStyle.value
	}
	if f.accelerated.set {
		body["s3_is_accelerated"] = f.accelerated.value
	}
	for field, v := range s {
		put(field, v)
	}
	return body
}

// runVerify is `bucketlink verify`.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseVerifyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	opts, err := f.verifier()
	if err != nil {
		return cannotRun(err)
	}
	s, err := f.secrets(verifyStdin)
	if err != nil {
		return cannotRun(err)
	}
	body, err := json.Marshal(f.requestBody(s))
	if err != nil {
		return cannotRun(fmt.Errorf("encode the request: %w", err))
	}
	defer clear(body) // it holds the credentials
	cfg, creds, err := storageconfig.ParseCreate(body)
	if err != nil {
		return refused(stdout, f.json, err)
	}
	s3s, isS3 := cfg.Settings.(*s3.Settings)
	iamRole := isS3 && s3s.IAMRole()
	if iamRole && f.externalID == "" {
		return cannotRun(errors.New("--auth-method iam_role needs --external-id: your org's external id, which the role's trust policy requires (GET /api/v1/storage-configs/setup-info/ shows it)"))
	}
	// The service's AWS configuration serves one thing: STS AssumeRole of
	// iam_role configs, with this machine's own credentials.
	var awsCfg aws.Config
	if iamRole {
		if awsCfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return cannotRun(fmt.Errorf("AWS configuration (to assume the role): %w", err))
		}
	}
	v, err := verifier.New(awsCfg, doctorOrg{slug: f.org, externalID: f.externalID}, opts)
	if err != nil {
		return cannotRun(fmt.Errorf("--aws-sts-endpoint: %w", err))
	}
	p := newProgress(stderr, isTerminal(stderr))
	v.Opener = p.watch(v.Opener)
	p.start(cfg)
	res := v.Verify(ctx, cfg, creds)
	p.finish(res)
	out := checkResult{Verified: res.Verified(), Errors: res.Errors, Checks: res.Checks}
	if err := printResult(stdout, f.json, out, verifyFixes); err != nil {
		return err
	}
	return resultExit(out)
}

// verifyStdin is where --secret-file - reads; tests replace it.
var verifyStdin io.Reader = os.Stdin

// refused reports a request the API would answer 400 (exit 2): the API's
// field errors, on the flags and variables that set those fields.
func refused(stdout io.Writer, asJSON bool, err error) error {
	var fe errcode.FieldErrors
	if !errors.As(err, &fe) {
		return cannotRun(err)
	}
	if asJSON {
		if err := writeJSONLine(stdout, fe); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, "The API would refuse this configuration:")
		printFixes(stdout, fe, verifyFixes)
	}
	return cannotRun(fmt.Errorf("the API would refuse this configuration: %s", strings.Join(slices.Sorted(maps.Keys(fe)), ", ")))
}

// doctorOrg is the org of the config verify checks: its external id is
// what an iam_role trust policy requires (the org's, from setup-info).
type doctorOrg struct{ slug, externalID string }

func (o doctorOrg) GetOrgByID(context.Context, int64) (*identity.Org, error) {
	if o.externalID == "" {
		return nil, errors.New("--external-id is required with --auth-method iam_role: your org's external id, from GET /api/v1/storage-configs/setup-info/")
	}
	return &identity.Org{Slug: o.slug, ExternalID: o.externalID}, nil
}
