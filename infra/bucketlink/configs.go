package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/service"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verifier"
)

// configsFlags are the flags of `bucketlink configs ...` and `bucketlink
// reverify`.
type configsFlags struct {
	kind, data, table, kmsKey, eventBus, org, logLevel string
	now, json                                          bool
	verifier                                           func() (verifier.Options, error)
}

// runConfigs runs `bucketlink configs list|get|test|delete` and
// `bucketlink reverify --now UID` against the store (the local data
// directory, or a deployed table), through the API's own handlers and
// re-verifier, so that what they print and write is what the API would.
func runConfigs(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	f := &configsFlags{}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.kind, "store", envOr("BUCKETLINK_STORE", "sqlite"), "sqlite (the local data directory) or dynamodb (a deployed stack's table)")
	fs.StringVar(&f.data, "data", envOr("BUCKETLINK_DATA", ".data"), "data directory (SQLite file and master key), with --store sqlite")
	fs.StringVar(&f.table, "table", os.Getenv("BUCKETLINK_TABLE"), "DynamoDB table, with --store dynamodb")
	fs.StringVar(&f.kmsKey, "kms-key", os.Getenv("BUCKETLINK_KMS_KEY_ID"), "KMS key sealing the credentials, with --store dynamodb (test and reverify)")
	fs.StringVar(&f.eventBus, "event-bus", os.Getenv("BUCKETLINK_EVENT_BUS"), "EventBridge bus of is_verified changes, with --store dynamodb (empty: a log line)")
	fs.StringVar(&f.org, "org", provision.DefaultOrgSlug, "org slug (list)")
	fs.StringVar(&f.logLevel, "log-level", envOr("BUCKETLINK_LOG_LEVEL", "warn"), "level of the API's JSON log on standard error")
	fs.BoolVar(&f.json, "json", false, "print the API's JSON")
	if cmd == "reverify" {
		fs.BoolVar(&f.now, "now", false, "re-verify now (required: the scheduler runs the due ones)")
	}
	f.verifier = addVerifierFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return cannotRun(err)
	}
	var uid string
	switch {
	case cmd == "configs list" && len(pos) == 0:
	case cmd != "configs list" && len(pos) == 1:
		uid = pos[0]
		if u, err := uuid.Parse(uid); err != nil || u.String() != uid {
			return cannotRun(fmt.Errorf("%q is not a config uid (a lower-case UUID)", uid))
		}
	default:
		return cannotRun(fmt.Errorf("%w: %s takes %s", errUsage, cmd, map[bool]string{true: "no argument", false: "one config uid"}[cmd == "configs list"]))
	}
	if cmd == "reverify" && !f.now {
		return cannotRun(fmt.Errorf("%w: reverify runs one re-verification now: bucketlink reverify --now UID", errUsage))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return cannotRun(fmt.Errorf("--log-level: %w", err))
	}
	st, err := openAdminStore(ctx, f.kind, f.data, f.table)
	if err != nil {
		return cannotRun(err)
	}
	defer st.Close()
	op := &operator{st: st, stdout: stdout, json: f.json}
	op.parts = service.Parts{
		Store:     st,
		CursorKey: randomKey(),
		Logger:    slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if cmd == "configs test" || cmd == "reverify" {
		if err := f.checkParts(ctx, &op.parts, stderr); err != nil {
			return cannotRun(err)
		}
	}
	switch cmd {
	case "configs list":
		return op.list(ctx, f.org)
	case "configs get":
		return op.get(ctx, uid)
	case "configs delete":
		return op.delete(ctx, uid)
	case "configs test":
		return op.test(ctx, uid)
	}
	return op.reverify(ctx, uid)
}

// parseInterspersed parses fs from args with positional arguments among
// the flags (configs get UID --json), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// randomKey is this process's cursor key: the operator commands follow
// every page themselves, and print no cursor.
func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// checkParts adds what running checks needs: the sealer that opens the
// stored credentials, the verifier, and the publisher of is_verified
// changes, as `bucketlink serve` (sqlite) or the deployed functions
// (dynamodb) have them.
func (f *configsFlags) checkParts(ctx context.Context, p *service.Parts, stderr io.Writer) error {
	opts, err := f.verifier()
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	// Change events are JSON log lines on standard error, whatever the
	// level of the API's log, as `bucketlink serve` logs them.
	var events changeevents.Publisher = changeevents.LogPublisher{Logger: slog.New(slog.NewJSONHandler(stderr, nil))}
	var sealer seal.Sealer
	switch f.kind {
	case "dynamodb":
		if f.kmsKey == "" {
			return errors.New("--store dynamodb needs --kms-key (or BUCKETLINK_KMS_KEY_ID) to open the stored credentials")
		}
		sealer = kmsseal.New(kms.NewFromConfig(awsCfg), f.kmsKey)
		if f.eventBus != "" {
			if events, err = ebpub.New(eventbridge.NewFromConfig(awsCfg), f.eventBus); err != nil {
				return fmt.Errorf("--event-bus: %w", err)
			}
		}
	default:
		path := filepath.Join(f.data, "master.key")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("master key: %w (the data directory of bucketlink serve holds it)", err)
		}
		if sealer, err = localseal.Open(path); err != nil {
			return err
		}
	}
	v, err := verifier.New(awsCfg, p.Store, opts)
	if err != nil {
		return fmt.Errorf("--aws-sts-endpoint: %w", err)
	}
	p.Sealer, p.Verifier, p.Events = sealer, v, events
	return nil
}

// operator runs the API's handlers in this process as the operator, an
// admin of the org of what it touches (httpapi.AsOperator).
type operator struct {
	st     store.Store
	parts  service.Parts
	stdout io.Writer
	json   bool
	api    http.Handler
}

const configsBase = "/api/v1/storage-configs/"

// do serves one request to the API as an admin of org orgID and returns
// the answer; an answer that is not 2xx is an error with the API's body.
func (o *operator) do(ctx context.Context, method, path string, orgID int64) ([]byte, error) {
	if o.api == nil {
		o.api = o.parts.API().Handler()
	}
	req, err := http.NewRequestWithContext(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	o.api.ServeHTTP(rec, httpapi.AsOperator(req, orgID))
	body := rec.Body.Bytes()
	if rec.Code/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, bytes.TrimSpace(body))
	}
	return body, nil
}

// orgOf returns the org id of config uid.
func (o *operator) orgOf(ctx context.Context, uid string) (int64, error) {
	c, err := o.st.GetConfig(ctx, uid)
	if errors.Is(err, errcode.ErrNotFound) {
		return 0, cannotRun(fmt.Errorf("no config %s in this store", uid))
	}
	if err != nil {
		return 0, cannotRun(fmt.Errorf("get config %s: %w", uid, err))
	}
	return c.OrgID, nil
}

func (o *operator) list(ctx context.Context, slug string) error {
	org, err := o.st.GetOrgBySlug(ctx, slug)
	if errors.Is(err, errcode.ErrNotFound) {
		return cannotRun(fmt.Errorf("no org %q in this store (--org)", slug))
	}
	if err != nil {
		return cannotRun(fmt.Errorf("get org %q: %w", slug, err))
	}
	var all []storageconfig.Response
	q := url.Values{"organization": {slug}, "limit": {"100"}}
	for path := configsBase + "?" + q.Encode(); path != ""; {
		body, err := o.do(ctx, http.MethodGet, path, org.ID)
		if err != nil {
			return cannotRun(err)
		}
		var page struct {
			Next    *string
			Results []storageconfig.Response
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("list answer: %w", err)
		}
		all = append(all, page.Results...)
		path = ""
		if page.Next != nil {
			u, err := url.Parse(*page.Next)
			if err != nil {
				return fmt.Errorf("next link: %w", err)
			}
			path = u.RequestURI()
		}
	}
	if o.json {
		if all == nil {
			all = []storageconfig.Response{}
		}
		return writeJSONLine(o.stdout, map[string]any{"next": nil, "previous": nil, "results": all})
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tNAME\tPROVIDER\tBUCKET\tPREFIX\tVERIFIED\tLAST VERIFIED")
	for _, c := range all {
		bucket, prefix := responseWhere(c)
		last := "never"
		if c.LastVerifiedAt != nil {
			last = *c.LastVerifiedAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", c.UID, c.Name, c.Provider, bucket, prefix, c.IsVerified, last)
	}
	return tw.Flush()
}

// responseWhere is the bucket (or account/container) and prefix of c.
func responseWhere(c storageconfig.Response) (bucket, prefix string) {
	settings, err := c.Settings()
	if err != nil {
		return "", ""
	}
	bucket = settings.Bucket()
	if account := settings.Report(nil).Account; account != "" {
		bucket = account + "/" + bucket
	}
	return bucket, settings.Prefix()
}

func (o *operator) get(ctx context.Context, uid string) error {
	org, err := o.orgOf(ctx, uid)
	if err != nil {
		return err
	}
	body, err := o.do(ctx, http.MethodGet, configsBase+uid+"/", org)
	if err != nil {
		return cannotRun(err)
	}
	if o.json {
		_, err = o.stdout.Write(body)
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.stdout, strings.TrimSpace(out.String()))
	return err
}

func (o *operator) delete(ctx context.Context, uid string) error {
	org, err := o.orgOf(ctx, uid)
	if err != nil {
		return err
	}
	if _, err := o.do(ctx, http.MethodDelete, configsBase+uid+"/", org); err != nil {
		return cannotRun(err)
	}
	if o.json {
		return writeJSONLine(o.stdout, map[string]any{"uid": uid, "deleted": true})
	}
	_, err = fmt.Fprintf(o.stdout, "Deleted config %s and its credentials.\n", uid)
	return err
}

// test is POST {uid}/test/: the checks run, the outcome and its history
// are stored, and a flip of is_verified is published, as the API does.
func (o *operator) test(ctx context.Context, uid string) error {
	org, err := o.orgOf(ctx, uid)
	if err != nil {
		return err
	}
	body, err := o.do(ctx, http.MethodPost, configsBase+uid+"/test/", org)
	if err != nil {
		return cannotRun(err)
	}
	var res checkResult
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("test answer: %w", err)
	}
	if err := printResult(o.stdout, o.json, res, nil); err != nil {
		return err
	}
	return resultExit(res)
}

// reverify runs the scheduler's re-verification of uid now (the
// re-verifier of service.Parts): outcome, history (trigger schedule) and
// change event as the scheduler's would be; then it prints the
// verification it recorded, from the API's history.
func (o *operator) reverify(ctx context.Context, uid string) error {
	org, err := o.orgOf(ctx, uid)
	if err != nil {
		return err
	}
	out, err := o.parts.Reverifier().Reverify(ctx, uid)
	if err != nil {
		return cannotRun(err)
	}
	if out.Skipped {
		return cannotRun(fmt.Errorf("config %s was not re-verified: it is gone, or its re-verification is off "+
			"(reverify_interval_seconds is null); bucketlink configs test %s tests it once", uid, uid))
	}
	body, err := o.do(ctx, http.MethodGet, configsBase+uid+"/verifications/?limit=1", org)
	if err != nil {
		return cannotRun(err)
	}
	var hist struct {
		Results []struct {
			VerifiedAt string               `json:"verified_at"`
			Verified   bool                 `json:"verified"`
			Trigger    string               `json:"trigger"`
			Checks     []verification.Check `json:"checks"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &hist); err != nil {
		return fmt.Errorf("verification history of %s: %w", uid, err)
	}
	if len(hist.Results) == 0 {
		return fmt.Errorf("verification history of %s is empty after a re-verification", uid)
	}
	latest := hist.Results[0]
	res := checkResult{Verified: latest.Verified, Checks: latest.Checks}
	if o.json {
		if err := writeJSONLine(o.stdout, map[string]any{"uid": uid, "changed": out.Changed, "verification": latest}); err != nil {
			return err
		}
	} else {
		if err := printResult(o.stdout, false, res, nil); err != nil {
			return err
		}
		if out.Changed {
			fmt.Fprintf(o.stdout, "is_verified changed to %t; the change was published.\n", out.Verified)
		}
	}
	return resultExit(res)
}
