// Package contract runs the client-contract suite: the official Python
// clients of the two APIs bucketlink serves (PyPI avala for the
// storage-configs API, PyPI edgeimpulse-api for bucket-verify), driven by
// the pytest files beside this one against a running bucketlink.
//
// A driver (the `bucketlink serve` test in infra/bucketlink, or the Lambda
// one) starts the service and its emulators, fills a Fixture and calls Run,
// which writes it as JSON and runs pytest in the virtualenv that
// install-tools.sh puts in .tools/clientvenv. A failing client call fails
// the Go test. For example:
//
//	go test -run TestOfficialClients -count=1 ./infra/bucketlink/
//	BUCKETLINK_CONTRACT_PYTEST_ARGS="-k verify -v" go test -run TestOfficialClients ./infra/bucketlink/
package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// VenvEnv names an environment variable that, when set, is the client
// virtualenv (instead of <repo>/.tools/clientvenv).
const VenvEnv = "BUCKETLINK_CLIENTVENV"

// FixtureEnv is the environment variable that names the fixture file for
// the Python side (support.py reads it).
const FixtureEnv = "BUCKETLINK_CONTRACT_FIXTURE"

// ArgsEnv names an environment variable whose words are added to pytest's
// arguments (e.g. "-k verify -v"), to run or show a part of the suite.
const ArgsEnv = "BUCKETLINK_CONTRACT_PYTEST_ARGS"

// runTimeout bounds one pytest run when the test has no deadline of its own.
const runTimeout = 10 * time.Minute

// Org is an organization as the fixture names it: the bucket-verify API
// takes the integer id, the storage-configs API the slug.
type Org struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
}

// Keys are API keys: admin, member and viewer of Org, and the admin of
// OtherOrg (a member of no other org).
type Keys struct {
	Admin      string `json:"admin"`
	Member     string `json:"member"`
	Viewer     string `json:"viewer"`
	OtherAdmin string `json:"other_admin"`
}

// Entry is one request body with a label that names it in test ids.
type Entry struct {
	Label string         `json:"label"`
	Body  map[string]any `json:"body"`
}

// Fixture is everything the suite needs, written as one JSON file.
//
// Configs holds one valid storage-configs create body per provider and
// credential kind the driver serves (e.g. aws_s3, s3_compatible,
// gc_storage with a service account, azure_blob with an account key and
// with a SAS token); Verify one bucket-verify body with its secretKey per
// storageProvider (s3, other, google with HMAC keys, azure). Every bucket
// or container they name holds an object and an info.labels under
// "<prefix>train/", the prefix ending in "/". Neither list may be empty.
type Fixture struct {
	BaseURL  string  `json:"base_url"` // http://127.0.0.1:PORT, no trailing slash
	Org      Org     `json:"org"`
	OtherOrg Org     `json:"other_org"`
	Keys     Keys    `json:"keys"`
	Configs  []Entry `json:"configs"`
	Verify   []Entry `json:"verify"`

	// RateLimited, when set, is a second deployment whose rate limits the
	// suite exhausts (test_rate_limits.py); the tests that need it are
	// skipped without it. The service at BaseURL must keep its limits
	// high enough that the rest of the suite never meets them.
	RateLimited *RateLimited `json:"rate_limited,omitempty"`
}

// RateLimited is a deployment (sharing nothing the rest of the suite
// relies on) whose read and verify classes admit a small burst (at least
// 1, at most 10) and refill at most once a minute, so that a test can
// count the burst out and see the 429. Key is an admin key of Org there,
// used by nothing else; Verify is a bucket-verify body valid there (its
// verification may or may not succeed).
type RateLimited struct {
	BaseURL string `json:"base_url"`
	Org     Org    `json:"org"`
	Key     string `json:"key"`
	Verify  Entry  `json:"verify"`
}

// Python returns the client virtualenv's python. When it is missing the
// test fails if CI=true and is skipped otherwise, like testenv.ToolPath;
// call it before starting anything costly.
func Python(tb testing.TB) string {
	tb.Helper()
	p, err := findPython()
	if err == nil {
		return p
	}
	testenv.Missing(tb, fmt.Sprintf("contract: %v; run make tools (infra/testenv/install-tools.sh clientvenv)", err))
	return ""
}

func findPython() (string, error) {
	venv := os.Getenv(VenvEnv)
	if venv == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			return "", err
		}
		venv = filepath.Join(root, ".tools", "clientvenv")
	}
	p := filepath.Join(venv, "bin", "python")
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("client virtualenv not installed at %s: %w", venv, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}

// Run writes f to a file in a temporary directory and runs the pytest
// suite of this directory against it, with extra pytest arguments (such
// as "-k", "verify") and then those of $BUCKETLINK_CONTRACT_PYTEST_ARGS.
// pytest's output is logged; a non-zero exit fails tb.
func Run(tb testing.TB, f Fixture, pytestArgs ...string) {
	tb.Helper()
	python := Python(tb)
	if len(f.Configs) == 0 || len(f.Verify) == 0 {
		tb.Fatalf("contract: the fixture needs configs and verify entries (%d and %d)", len(f.Configs), len(f.Verify))
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		tb.Fatalf("contract: fixture: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "fixture.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil { // it holds keys and credentials
		tb.Fatal(err)
	}

	end := time.Now().Add(runTimeout)
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if td, ok := d.Deadline(); ok {
			end = td.Add(-10 * time.Second) // leave time to log the output
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	args := append([]string{"-m", "pytest", "-p", "no:cacheprovider", "-q", filepath.Join(root, "infra", "contract")}, pytestArgs...)
	args = append(args, strings.Fields(os.Getenv(ArgsEnv))...)
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		FixtureEnv+"="+path,
		"AVALA_ALLOW_INSECURE_BASE_URL=true", // http:// to 127.0.0.1 only
		"PYTHONDONTWRITEBYTECODE=1",          // no __pycache__ in the repository
		"NO_COLOR=1",
		"NO_PROXY=127.0.0.1,localhost,::1", "no_proxy=127.0.0.1,localhost,::1",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	tb.Logf("pytest (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		tb.Fatalf("contract: the official clients failed against %s: %v", f.BaseURL, err)
	}
}
