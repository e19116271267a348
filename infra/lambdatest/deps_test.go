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
	// The SDK's general configuration loader links the STS, SSO and SSO
	// OIDC clients; the functions load theirs with awsenv.
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
}

// requiredDeps must be linked: the test would prove nothing if `go list`
// listed something else.
var requiredDeps = []string{
	"github.com/aws/aws-lambda-go/lambda",
	"github.com/bucketlink/bucketlink/shared/store/dynamostore",
	"github.com/bucketlink/bucketlink/shared/awsapp/awsenv",
}

const module = "github.com/bucketlink/bucketlink/"

// What a function that opens no bucket, sends to no queue or publishes no
// event must not link; an entry ending in "/" names every package under
// it. No function links the SDK's general loader (forbiddenDeps), so the
// STS client is linked only where awsrole, which alone calls STS, is.
var (
	// linksDrivers: the blob drivers, the provider SDKs, and what picks
	// them.
	linksDrivers = []string{
		module + "shared/blob/s3blob", module + "shared/blob/gcsblob", module + "shared/blob/azureblob",
		module + "shared/blob/anyblob", module + "shared/verifier", module + "shared/awsapp/awsverify",
		// The providers' openers (the providers' own packages, which
		// read-only functions link for fields and validation, are not).
		module + "shared/provider/s3/s3open", module + "shared/provider/gcs/gcsopen", module + "shared/provider/azure/azureopen",
		"github.com/Azure/azure-sdk-for-go/", "cloud.google.com/go/storage",
		// Entra ID's token library, under azidentity (service principals).
		"github.com/AzureAD/microsoft-authentication-library-for-go/",
	}
	// linksSTS: AssumeRole for iam_role configs.
	linksSTS = []string{module + "shared/awsrole", "github.com/aws/aws-sdk-go-v2/service/sts"}
	// linksSQS: the queue's SQS sender.
	linksSQS = []string{"github.com/aws/aws-sdk-go-v2/service/sqs", module + "shared/queue/sqsqueue", module + "shared/awsapp/awsqueue"}
	// linksKMS: the sealer of credentials and records.
	linksKMS = []string{"github.com/aws/aws-sdk-go-v2/service/kms", module + "shared/seal/kmsseal", module + "shared/awsapp/awsseal"}
	// linksSecrets: the reader of the cursor and record-key secrets.
	linksSecrets = []string{"github.com/aws/aws-sdk-go-v2/service/secretsmanager", module + "shared/awsapp/awssecrets"}
	// linksEventBridge: the publisher of verification changes.
	linksEventBridge = []string{"github.com/aws/aws-sdk-go-v2/service/eventbridge", module + "shared/changeevents/ebpub", module + "shared/awsapp/awsevents"}
	// ourDrivers are the drivers and what picks them, without the SDKs
	// (which drivers link as they choose).
	ourDrivers = linksDrivers[:9]
)

const httpadapter = "github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

// linksStore: the table and the AWS wiring, which only the static
// connect page does without.
var linksStore = []string{module + "shared/store/dynamostore", module + "shared/awsapp",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"}

// static are the functions that serve embedded files only: requiredDeps
// (the store and the AWS environment) does not apply to them.
var static = map[string]bool{"connect-page": true, "get-openapi": true}

// linking is, per function, what it must not link beyond forbiddenDeps,
// and what it must link beyond requiredDeps: each links what its endpoint
// calls and nothing else.
var linking = map[string]struct{ forbidden, required [][]string }{
	// Reading configs and history: the store, and for the lists the
	// cursor secret.
	"list-storage-configs":      {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS}, required: [][]string{{httpadapter}, linksSecrets}},
	"list-config-verifications": {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS}, required: [][]string{{httpadapter}, linksSecrets}},
	"get-storage-config":        {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets}, required: [][]string{{httpadapter}}},
	"delete-storage-config":     {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets}, required: [][]string{{httpadapter}}},
	"get-setup-info":            {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets}, required: [][]string{{httpadapter}}},
	// The bucket-verify API seals the run and queues it; the worker opens
	// the bucket.
	"verify-bucket":          {forbidden: [][]string{linksDrivers, linksSTS, linksEventBridge}, required: [][]string{{httpadapter}, linksSQS, linksKMS, linksSecrets}},
	"verify-existing-bucket": {forbidden: [][]string{linksDrivers, linksSTS, linksEventBridge}, required: [][]string{{httpadapter}, linksSQS, linksKMS, linksSecrets}},
	"create-storage-config":  {forbidden: [][]string{linksSQS, linksEventBridge, linksSecrets}, required: [][]string{{httpadapter}, ourDrivers, linksSTS, linksKMS}},
	"test-storage-config":    {forbidden: [][]string{linksSQS, linksSecrets}, required: [][]string{{httpadapter}, ourDrivers, linksSTS, linksEventBridge, linksKMS}},
	// A rotation or a new bucket runs the checks as create does, seals
	// (or opens the stored credentials), and publishes a flip as test does.
	"patch-storage-config": {forbidden: [][]string{linksSQS, linksSecrets}, required: [][]string{{httpadapter}, ourDrivers, linksSTS, linksEventBridge, linksKMS}},
	"verify-worker": {forbidden: [][]string{linksSecrets}, required: [][]string{ourDrivers, linksSTS, linksEventBridge, linksKMS,
		{module + "shared/queue/sqsqueue", module + "shared/verifyworker", module + "shared/reverify"}}},
	"reverify-scheduler": {forbidden: [][]string{linksDrivers, linksSTS, linksEventBridge, linksKMS, linksSecrets}, required: [][]string{linksSQS, {module + "shared/reverify"}}},
	// Minting a session opens no bucket, seals nothing and sends nothing.
	"create-connect-session": {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets}, required: [][]string{{httpadapter}}},
	// The static page links no store, no sealer and no AWS client at all.
	"connect-page": {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets, linksStore},
		required: [][]string{{httpadapter, module + "shared/connectpage"}}},
	// The embedded OpenAPI document: no store, no AWS client, not even
	// the API's handler.
	"get-openapi": {forbidden: [][]string{linksDrivers, linksSTS, linksSQS, linksEventBridge, linksKMS, linksSecrets, linksStore,
		{module + "shared/httpapi", module + "shared/service", module + "shared/identity"}},
		required: [][]string{{httpadapter, module + "shared/openapi"}}},
}

// matches reports whether the package path names entry: equal to it, or
// under it when entry ends in "/".
func matches(path, entry string) bool {
	if strings.HasSuffix(entry, "/") {
		return strings.HasPrefix(path, entry)
	}
	return path == entry
}

// importChain returns how root reaches target in imports (root, ...,
// target).
func importChain(imports map[string][]string, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
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

// TestFunctionsLinkOnlyWhatTheyCall checks with `go list -deps` what each
// function links: no local code or test scaffolding (forbiddenDeps), and,
// per function (linking), none of the drivers, STS, SQS or EventBridge
// that its endpoint does not call, and what it does call. A forbidden
// package is reported with the import chain that brings it in.
func TestFunctionsLinkOnlyWhatTheyCall(t *testing.T) {
	root := repoRoot(t)
	for _, name := range functionNames {
		t.Run(name, func(t *testing.T) {
			table, ok := linking[name]
			if !ok {
				t.Fatalf("no linking entry for %s", name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// The build of template.yaml: linux/arm64, no cgo, lambda.norpc.
			cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", "lambda.norpc",
				"-f", `{{.ImportPath}} {{join .Imports " "}}`, "./functions/"+name)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			imports := map[string][]string{}
			var deps []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				deps = append(deps, f[0])
				imports[f[0]] = f[1:]
			}
			for _, group := range append([][]string{forbiddenDeps}, table.forbidden...) {
				for _, f := range group {
					if i := slices.IndexFunc(deps, func(d string) bool { return matches(d, f) }); i >= 0 {
						t.Errorf("links %s: %s", deps[i], strings.Join(importChain(imports, module+"functions/"+name, deps[i]), " → "))
					}
				}
			}
			required := table.required
			if !static[name] {
				required = append([][]string{requiredDeps}, required...)
			} else {
				required = append([][]string{{"github.com/aws/aws-lambda-go/lambda"}}, required...)
			}
			for _, group := range required {
				for _, r := range group {
					if !slices.ContainsFunc(deps, func(d string) bool { return matches(d, r) }) {
						t.Errorf("does not link %s", r)
					}
				}
			}
			t.Logf("%d packages", len(deps))
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
	"create-connect-session":    "POST /api/v1/connect-sessions/",
	"get-openapi":               "GET /openapi.json",
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
