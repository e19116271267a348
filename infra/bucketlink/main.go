// Command bucketlink is the operator command: it serves the whole API as one
// local process, and creates orgs, users, memberships and API keys.
//
//	bucketlink serve [--addr 127.0.0.1:8080] [--data .data] [--allow-private-endpoints]
//	bucketlink org create --slug S --name N
//	bucketlink apikey create --org S --role admin|member|viewer [--user U]
//	bucketlink apikey revoke --id key_...
//	bucketlink member add --user U --org S --role admin|member|viewer
//	bucketlink verify --provider P --bucket B [...]   (the doctor; -h for its flags and exit codes)
//	bucketlink configs list|get|test|delete [UID]
//	bucketlink reverify --now UID
//
// Every command reads its data directory from --data or BUCKETLINK_DATA
// (default .data).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/dynamostore"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
)

const usage = `usage (identity commands take --store sqlite|dynamodb, --data DIR or --table T):
  bucketlink serve [--addr 127.0.0.1:8080] [--data DIR] [--allow-private-endpoints]
  bucketlink org create --slug S --name N
  bucketlink apikey create --org S --role admin|member|viewer [--user U]
  bucketlink apikey revoke --id key_...
  bucketlink member add --user U --org S --role admin|member|viewer
  bucketlink migrate    (brings the store's data up to date; SQLite migrates on every open)
  bucketlink verify --provider P --bucket B [--prefix P] [--region R] [--endpoint URL] [--json] ...
                        (runs the API's checks from this machine; -h: flags, secrets, exit codes)
  bucketlink configs list [--org S] | get UID | test UID | delete UID   [--json]
  bucketlink reverify --now UID
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bucketlink:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("bad usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	cmd := args[0]
	if len(args) > 1 && cmd != "serve" && cmd != "migrate" && cmd != "verify" && cmd != "reverify" {
		cmd += " " + args[1]
		args = args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "org create", "apikey create", "apikey revoke", "member add", "migrate":
		return admin(ctx, cmd, args[1:], stdout)
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "configs list", "configs get", "configs test", "configs delete", "reverify":
		return runConfigs(ctx, cmd, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// admin runs the identity commands against the local store.
func admin(ctx context.Context, cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	data := fs.String("data", envOr("BUCKETLINK_DATA", ".data"), "data directory")
	slug := fs.String("slug", "", "org slug")
	name := fs.String("name", "", "org name")
	org := fs.String("org", "", "org slug")
	role := fs.String("role", "", "admin, member or viewer")
	user := fs.String("user", "", "user name")
	id := fs.String("id", "", "API key id")
	kind := fs.String("store", envOr("BUCKETLINK_STORE", "sqlite"), "sqlite (the local data directory) or dynamodb (a deployed stack's table)")
	table := fs.String("table", os.Getenv("BUCKETLINK_TABLE"), "DynamoDB table, with --store dynamodb")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	st, err := openAdminStore(ctx, *kind, *data, *table)
	if err != nil {
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(stdout)
	switch cmd {
	case "org create":
		if *slug == "" {
			return fmt.Errorf("%w: --slug is required", errUsage)
		}
		o, err := provision.CreateOrg(ctx, st, *slug, *name)
		if err != nil {
			return err
		}
		return enc.Encode(o)
	case "apikey create", "member add":
		r, err := identity.ParseRole(*role)
		if err != nil || *org == "" {
			return fmt.Errorf("%w: --org and --role admin|member|viewer are required", errUsage)
		}
		if cmd == "member add" {
			if *user == "" {
				return fmt.Errorf("%w: --user is required", errUsage)
			}
			u, o, err := provision.AddMember(ctx, st, *user, *org, r)
			if err != nil {
				return err
			}
			return enc.Encode(map[string]any{"user": u.Name, "org": o.Slug, "role": r})
		}
		key, _, err := provision.CreateAPIKey(ctx, st, *org, r, *user)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, key)
		return err
	case "apikey revoke":
		if *id == "" {
			return fmt.Errorf("%w: --id is required", errUsage)
		}
		return st.RevokeAPIKey(ctx, *id, time.Now().UTC())
	case "migrate":
		return migrate(ctx, st, enc)
	}
	return errUsage
}

// migrate brings data written by earlier versions up to date. SQLite
// files migrate when opened (openAdminStore did it); a DynamoDB table's
// config items written before integer ids get theirs.
func migrate(ctx context.Context, st store.Store, enc *json.Encoder) error {
	out := map[string]any{"schema": "up to date"}
	if d, ok := st.(*dynamostore.Store); ok {
		n, err := d.BackfillConfigIDs(ctx)
		if err != nil {
			return err
		}
		out["config_ids_assigned"] = n
	}
	return enc.Encode(out)
}

// openAdminStore opens the store the identity commands write to: the local
// SQLite file, or a deployed stack's DynamoDB table with the operator's own
// AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB...).
func openAdminStore(ctx context.Context, kind, data, table string) (store.Store, error) {
	switch kind {
	case "sqlite":
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		return sqlitestore.Open(ctx, filepath.Join(data, "bucketlink.db"))
	case "dynamodb":
		if table == "" {
			return nil, fmt.Errorf("%w: --store dynamodb needs --table (or BUCKETLINK_TABLE)", errUsage)
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		return dynamostore.New(dynamodb.NewFromConfig(cfg), table), nil
	}
	return nil, fmt.Errorf("%w: --store is sqlite or dynamodb, not %q", errUsage, kind)
}
