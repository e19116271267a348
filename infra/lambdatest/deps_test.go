package lambdatest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
)

// forbiddenDeps must never be linked into a Lambda: local-only code (the
// SQLite store and its driver, the master-key-file sealer) and test
// scaffolding.
var forbiddenDeps = []string{
	"modernc.org/sqlite",
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore",
	"github.com/bucketlink/bucketlink/shared/seal/localseal",
	"github.com/bucketlink/bucketlink/infra/testenv",
	"github.com/bucketlink/bucketlink/infra/lambdatest",
}

// requiredDeps must be linked: the test would prove nothing if `go list`
// listed something else.
var requiredDeps = []string{
	"github.com/aws/aws-lambda-go/lambda",
	"github.com/bucketlink/bucketlink/shared/store/dynamostore",
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal",
}

// requiredDepsOf are further packages each kind of function must link:
// the API Gateway adapter for the HTTP functions, the SQS batch handler,
// the worker and the reverifier with its EventBridge publisher for the
// queue consumer, the SQS sender and the scheduler for the scheduler.
func requiredDepsOf(name string) []string {
	if slices.Contains(httpFunctions, name) {
		return append(slices.Clone(requiredDeps), "github.com/awslabs/aws-lambda-go-api-proxy/httpadapter")
	}
	if name == "reverify-scheduler" {
		return append(slices.Clone(requiredDeps), "github.com/bucketlink/bucketlink/shared/queue/sqsqueue",
			"github.com/bucketlink/bucketlink/shared/reverify")
	}
	return append(slices.Clone(requiredDeps), "github.com/bucketlink/bucketlink/shared/queue/sqsqueue",
		"github.com/bucketlink/bucketlink/shared/verifyworker", "github.com/bucketlink/bucketlink/shared/reverify",
		"github.com/bucketlink/bucketlink/shared/changeevents/ebpub")
}

func TestFunctionsAreTheTemplates(t *testing.T) {
	root := repoRoot(t)
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dirs {
		got = append(got, filepath.Base(filepath.Dir(d)))
	}
	want := slices.Sorted(slices.Values(functionNames))
	if !slices.Equal(got, want) {
		t.Errorf("functions/ holds %v; the tests know %v", got, want)
	}
}

func TestFunctionsLinkNoLocalCode(t *testing.T) {
	root := repoRoot(t)
	for _, name := range functionNames {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// The build of template.yaml: linux/arm64, no cgo, lambda.norpc.
			cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", "lambda.norpc", "./functions/"+name)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, f := range forbiddenDeps {
				if slices.Contains(deps, f) {
					t.Errorf("links %s", f)
				}
			}
			for _, r := range requiredDepsOf(name) {
				if !slices.Contains(deps, r) {
					t.Errorf("does not link %s", r)
				}
			}
		})
	}
}

// specRoutes are the endpoints of the spec, per function.
var specRoutes = map[string]string{
	"list-storage-configs":      "GET /api/v1/storage-configs/",
	"create-storage-config":     "POST /api/v1/storage-configs/",
	"get-storage-config":        "GET /api/v1/storage-configs/{uid}/",
	"patch-storage-config":      "PATCH /api/v1/storage-configs/{uid}/",
	"list-config-verifications": "GET /api/v1/storage-configs/{uid}/verifications/",
	"test-storage-config":       "POST /api/v1/storage-configs/{uid}/test/",
	"delete-storage-config":     "DELETE /api/v1/storage-configs/{uid}/",
	"get-setup-info":            "GET /api/v1/storage-configs/setup-info/",
	"verify-bucket":             "POST /v1/api/organizations/{organizationId}/buckets/verify",
	"verify-existing-bucket":    "POST /v1/api/organizations/{organizationId}/buckets/{bucketId}/verify",
}

// TestRoutesAndEventsAgree checks each function's route in template.yaml
// (the spec path without its trailing slash: HTTP API route keys cannot
// end in "/", and a route matches its path with or without one) and its
// event in infra/events (that route key, and the spec path as rawPath).
func TestRoutesAndEventsAgree(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	template := string(b)
	for _, name := range httpFunctions {
		t.Run(name, func(t *testing.T) {
			method, path, _ := strings.Cut(specRoutes[name], " ")
			route := strings.TrimSuffix(path, "/")
			id := logicalID(name)
			i := strings.Index(template, "\n  "+id+":\n")
			if i < 0 {
				t.Fatalf("template.yaml has no %s", id)
			}
			rest := template[i+1:]
			if j := strings.Index(rest, "\n\n"); j > 0 {
				rest = rest[:j+1]
			}
			for _, want := range []string{"Description: " + method + " " + path + "\n", "Method: " + method + "\n", "Path: " + route + "\n"} {
				if !strings.Contains(rest, want) {
					t.Errorf("template.yaml: %s does not say %q", id, want)
				}
			}
			raw, err := os.ReadFile(filepath.Join(root, "infra", "events", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var e events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			wantPath := strings.NewReplacer("{uid}", "REPLACE_WITH_CONFIG_UID", "{organizationId}", "REPLACE_WITH_ORG_ID", "{bucketId}", "REPLACE_WITH_CONFIG_ID").Replace(path)
			if e.Version != "2.0" || e.RouteKey != method+" "+route || e.RequestContext.RouteKey != e.RouteKey ||
				e.RawPath != wantPath || e.RequestContext.HTTP.Path != wantPath || e.RequestContext.HTTP.Method != method ||
				e.RequestContext.Stage != "$default" {
				t.Errorf("event: version %q, route key %q/%q, raw path %q, path %q, method %q, stage %q",
					e.Version, e.RouteKey, e.RequestContext.RouteKey, e.RawPath, e.RequestContext.HTTP.Path, e.RequestContext.HTTP.Method, e.RequestContext.Stage)
			}
		})
	}
}

// logicalID is a function's name in template.yaml: list-storage-configs
// is ListStorageConfigsFunction.
func logicalID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Function"
}

// TestBuildsAgree checks that template.yaml declares each function with
// the makefile builder, that the Makefile has its build-<LogicalId> target
// building ./functions/<name> with lambdatest.BuildFlags for linux/arm64,
// so that what the tests run is what `sam build` ships.
func TestBuildsAgree(t *testing.T) {
	root := repoRoot(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	template, makefile := read("template.yaml"), read("Makefile")
	for _, want := range []string{"Runtime: provided.al2023", "Architectures: [arm64]", "Handler: bootstrap", "CodeUri: ."} {
		if !strings.Contains(template, want) {
			t.Errorf("template.yaml does not say %q", want)
		}
	}
	for _, want := range []string{
		"LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'\n",
		"GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(LAMBDA_GOFLAGS) -o $(ARTIFACTS_DIR)/bootstrap\n",
	} {
		if !strings.Contains(makefile, want) {
			t.Errorf("the Makefile does not say %q", want)
		}
	}
	if got := strings.Join(lambdatest.BuildFlags, " "); got != "-tags lambda.norpc -trimpath -ldflags=-s -w -buildvcs=false" {
		t.Errorf("lambdatest.BuildFlags = %q, out of step with the Makefile", got)
	}
	for _, name := range functionNames {
		id := logicalID(name)
		fn := regexp.MustCompile(`(?m)^  ` + id + `:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: makefile\n`)
		if !fn.MatchString(template) {
			t.Errorf("template.yaml: no %s function with BuildMethod makefile", id)
		}
		target := regexp.MustCompile(`(?m)^build-` + id + `:\n\t\$\(LAMBDA_BUILD\) \./functions/` + regexp.QuoteMeta(name) + `\n`)
		if !target.MatchString(makefile) {
			t.Errorf("Makefile: no build-%s target building ./functions/%s", id, name)
		}
	}
}
