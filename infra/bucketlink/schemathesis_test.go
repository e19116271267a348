package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/openapi"
)

// schemathesisRun is what TestSchemathesis runs inside a network namespace
// of its own, where only loopback is up: `bucketlink serve` (on $BIN, data
// in $DATA) and, once it listens, schemathesis against it. Rate limits are
// off so that the fuzzer reaches the handlers; the rate-limit answers are
// checked by the e2e tests through openapitest.
const schemathesisRun = `set -eu
ip link set lo up
"$BIN" serve --addr 127.0.0.1:8080 --data "$DATA" --log-level warn \
	--rate-read off --rate-write off --rate-verify off >"$DATA/serve.out" 2>"$DATA/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
until grep -q listening "$DATA/serve.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "bucketlink serve did not start:"; cat "$DATA/serve.out" "$DATA/serve.err"; exit 1
	fi
	sleep 0.1
done
key=$(cat "$DATA/admin-api-key")
"$ST" --no-color --config-file "$CONFIG" run "$DOC" --url http://127.0.0.1:8080 \
	-H "X-Avala-Api-Key: $key" --checks all --max-examples "$EXAMPLES" --phases "$PHASES" \
	--workers 2 --seed "$SEED" --generation-database none --request-timeout 30 --max-failures 20
`

// TestSchemathesis fuzzes `bucketlink serve` with schemathesis (pinned in
// .tools/stvenv by install-tools.sh) from the OpenAPI document, with all
// its checks (server errors; status codes, Content-Types, headers and
// bodies the document does not describe; schema-valid data refused or
// invalid data accepted, with the exceptions testdata/schemathesis.toml
// gives and explains; unsupported methods; requests without the API key
// answered as if authenticated; ...), a bounded number of examples per
// operation. Both run inside a network namespace where only loopback is
// up (unshare -n), so that the endpoints and buckets the fuzzer makes up
// reach nothing. The coverage phase is not run: under Debian's Python
// 3.11 it dies in hypothesis with "SystemError: AST constructor recursion
// depth mismatch", a CPython bug, on this document.
//
// BUCKETLINK_SCHEMATHESIS_SEED replays a run (its seed is logged);
// BUCKETLINK_SCHEMATHESIS_EXAMPLES changes the examples per operation (8).
func TestSchemathesis(t *testing.T) {
	st := stvenvTool(t)
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, fmt.Sprintf("TestSchemathesis needs %s (util-linux, iproute2) for its network namespace: %v", tool, err))
		}
	}
	if out, err := exec.Command("unshare", "-n", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("TestSchemathesis cannot make a network namespace (unshare -n needs root or CAP_SYS_ADMIN): %v: %s", err, out))
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBucketlink(t)
	data := t.TempDir()
	// A fixed seed by default, so that a CI run is repeatable: a new seed
	// finds new cases (seed 457660597 found the two fixed in
	// connect.go and the limit parameter), and is for a person to run
	// (BUCKETLINK_SCHEMATHESIS_SEED=random), not for the gate of a merge.
	seed := cmp.Or(os.Getenv("BUCKETLINK_SCHEMATHESIS_SEED"), "457660597")
	if seed == "random" {
		seed = strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	}
	examples := cmp.Or(os.Getenv("BUCKETLINK_SCHEMATHESIS_EXAMPLES"), "8")
	t.Logf("schemathesis seed %s (BUCKETLINK_SCHEMATHESIS_SEED=%s replays this run), %s examples per operation", seed, seed, examples)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", schemathesisRun)
	cmd.Dir = t.TempDir() // anything schemathesis writes stays there
	cmd.Env = append(os.Environ(),
		"BIN="+bin, "DATA="+data, "ST="+st, "SEED="+seed, "EXAMPLES="+examples,
		"PHASES=examples,fuzzing,stateful",
		"CONFIG="+filepath.Join(root, "infra", "bucketlink", "testdata", "schemathesis.toml"),
		"DOC="+filepath.Join(root, "shared", "openapi", "openapi.json"))
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("schemathesis ran %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("schemathesis: %v\n%s", err, out)
	}
	// A run that left operations untested proves less than it says.
	if want := fmt.Sprintf("Tested: %d\n", documentOperations(t)); !strings.Contains(string(out), want) {
		t.Fatalf("schemathesis did not say %q:\n%s", want, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// stvenvTool is schemathesis's st in .tools/stvenv (install-tools.sh
// stvenv); missing, the test fails with CI=true and is skipped otherwise.
func stvenvTool(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(root, ".tools", "stvenv", "bin", "st")
	if _, err := os.Stat(st); err != nil {
		testenv.Missing(t, fmt.Sprintf("schemathesis is not installed (%v); run make tools (infra/testenv/install-tools.sh stvenv)", err))
	}
	return st
}

// documentOperations counts the operations of the OpenAPI document.
func documentOperations(t *testing.T) int {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				n++
			}
		}
	}
	return n
}
