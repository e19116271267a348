package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// chromiumPath is Debian's Chromium (apt package chromium, installed by
// infra/testenv/install-tools.sh).
const chromiumPath = "/usr/bin/chromium"

// browserArtifactsEnv names the directory that keeps the screenshots of
// TestConnectPageInBrowser; by default a new temporary directory, which
// the test prints and leaves.
const browserArtifactsEnv = "BUCKETLINK_BROWSER_ARTIFACTS"

// pageRun is what infra/browsertest/connect.cjs reports of one scenario.
type pageRun struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Focused  string   `json:"focused"`
	TabOrder []string `json:"tabOrder"`
	Guidance string   `json:"guidance"`
	// GuidanceFilled is step 1's grant once the fields name a bucket
	// (scenario guidanceBucket).
	GuidanceFilled string            `json:"guidanceFilled"`
	Labels         []string          `json:"labels"`
	Overflow       int               `json:"overflow"`
	SawRunning     int               `json:"sawRunning"`
	ChecksStatus   string            `json:"checksStatus"`
	ChecksOK       bool              `json:"checksOK"`
	Checks         []string          `json:"checks"`
	FieldErrors    map[string]string `json:"fieldErrors"`
	CORSStatus     string            `json:"corsStatus"`
	CORSOK         bool              `json:"corsOK"`
	CORSFix        string            `json:"corsFix"`
	// CORSServer is what step 4 shows of the bucket verify's CORS check
	// from the app origins.
	CORSServer string         `json:"corsServer"`
	SaveStatus string         `json:"saveStatus"`
	Saved      bool           `json:"saved"`
	Banner     string         `json:"banner"`
	FormHidden bool           `json:"formHidden"`
	Console    []string       `json:"console"`
	Requests   []string       `json:"requests"`
	Shots      []string       `json:"shots"`
	Timings    map[string]int `json:"timings"` // milliseconds since the scenario started
	Error      string         `json:"error"`
	// A rotate scenario's: the heading, the fields the page filled in,
	// and whether the provider was fixed.
	Heading          string            `json:"heading"`
	Prefilled        map[string]string `json:"prefilled"`
	ProviderDisabled bool              `json:"providerDisabled"`
	// Inputs are step 2's inputs once the method is chosen, as "id:type".
	Inputs []string `json:"inputs"`
	// ChecksDisabled: step 3's button, in a scenario that skips the checks.
	ChecksDisabled bool `json:"checksDisabled"`
	// FocusedAfterSave and Invalid: the focused control and the controls
	// marked invalid once the save answered.
	FocusedAfterSave string   `json:"focusedAfterSave"`
	Invalid          []string `json:"invalid"`
}

// browser is the driver of the scenarios: one node process running
// infra/browsertest/connect.cjs with one Chromium, fed one scenario a line.
type browser struct {
	node, script, playwright, shots string

	in   io.WriteCloser
	out  *bufio.Reader
	errs bytes.Buffer
}

func findBrowser(t *testing.T) *browser {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{
		script:     filepath.Join(root, "infra", "browsertest", "connect.cjs"),
		playwright: filepath.Join(root, ".tools", "playwright", "node_modules", "playwright-core"),
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, "chromium not installed ("+chromiumPath+"): run infra/testenv/install-tools.sh chromium (as root: apt packages chromium, chromium-driver)")
	}
	if _, err := os.Stat(filepath.Join(b.playwright, "package.json")); err != nil {
		testenv.Missing(t, "playwright-core not installed in .tools/playwright: run infra/testenv/install-tools.sh playwright")
	}
	if b.node, err = exec.LookPath("node"); err != nil {
		testenv.Missing(t, "node not found: the browser test's driver runs on Node.js")
	}
	b.shots = os.Getenv(browserArtifactsEnv)
	if b.shots == "" {
		if b.shots, err = os.MkdirTemp("", "bucketlink-connect-page-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the connect page: %s (set %s to choose)", b.shots, browserArtifactsEnv)
	return b
}

// start launches the driver and its browser until t ends.
func (b *browser) start(t *testing.T) {
	t.Helper()
	raw, _ := json.Marshal(map[string]string{"playwright": b.playwright, "chromium": chromiumPath, "screenshots": b.shots})
	cfg := filepath.Join(t.TempDir(), "driver.json")
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(b.node, b.script, cfg)
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	cmd.Stderr = &b.errs
	var err error
	if b.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		b.in.Close() // the driver closes the browser and exits at EOF
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// run drives one scenario in a fresh browser context.
func (b *browser) run(t *testing.T, sc map[string]any) pageRun {
	t.Helper()
	raw, _ := json.Marshal(sc)
	if _, err := b.in.Write(append(raw, '\n')); err != nil {
		t.Fatalf("browser scenario %s: %v\n%s", sc["name"], err, b.errs.String())
	}
	type answer struct {
		line []byte
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := b.out.ReadBytes('\n')
		got <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-got:
	case <-time.After(2 * time.Minute):
		t.Fatalf("browser scenario %s: no answer in 2 minutes", sc["name"])
	}
	if a.err != nil {
		t.Fatalf("browser scenario %s: %v\n%s", sc["name"], a.err, b.errs.String())
	}
	var out pageRun
	if err := json.Unmarshal(a.line, &out); err != nil || out.Error != "" {
		t.Fatalf("browser scenario %s: %v %s", sc["name"], err, a.line)
	}
	t.Logf("%s: %v ms", out.Name, out.Timings)
	for _, line := range out.Console {
		if strings.HasPrefix(line, "pageerror") {
			t.Errorf("%s: the page threw: %s", out.Name, line)
		}
	}
	return out
}

// mintSession mints a create session with the admin key and returns the
// page's URL (connect_url) and the token.
func mintSession(t *testing.T, base, key string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/connect-sessions/", strings.NewReader(`{"purpose":"create"}`))
	req.Header.Set("X-Avala-Api-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Token      string `json:"token"`
		ConnectURL string `json:"connect_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("mint session: %d %v", resp.StatusCode, err)
	}
	return got.ConnectURL, got.Token
}

// setupInfo returns setup-info's account id and the org's external id.
func setupInfo(t *testing.T, base, key string) (account, externalID string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/storage-configs/setup-info/", nil)
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Account    string `json:"avala_aws_account_id"`
		ExternalID string `json:"external_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.ExternalID == "" {
		t.Fatalf("setup-info: %d %v", resp.StatusCode, err)
	}
	return got.Account, got.ExternalID
}

// configNames lists the names of the org's configs.
func configNames(t *testing.T, base, key string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/storage-configs/?limit=100", nil)
	req.Header.Set("X-Avala-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Results {
		names = append(names, r.Name)
	}
	return names
}

// TestConnectPageInBrowser drives the connect page in headless Chromium
// against `bucketlink serve`, MinIO and Azurite: the whole flow with the
// bucket's CORS allowing the page's origin and refusing it (MinIO's
// server-wide cors_allow_origin; Azurite's blob service CORS rules), a
// failing credential, and a used session. It keeps a screenshot of each
// state (browserArtifactsEnv).
func TestConnectPageInBrowser(t *testing.T) {
	b := findBrowser(t)
	b.start(t)
	m := testenv.StartMinIO(t)
	a := testenv.StartAzurite(t)
	t.Setenv("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "true")
	t.Setenv("BUCKETLINK_AZURE_BLOB_ENDPOINT", a.URL)
	t.Setenv("BUCKETLINK_VERIFY_WORKERS", "2")
	data := filepath.Join(t.TempDir(), "data")
	_, _, keys := provisionContract(t, data)
	// The page's own origin is the app origin the bucket verify's CORS
	// check runs from, so that step 4's fix is the service's (merged with
	// the bucket's rules where they can be read).
	addr := freeAddr(t)
	// The federated credential setup-info shows for workload_identity.
	const fedIssuer, fedSubject = "https://issuer.bucketlink.example", "arn:aws:iam::123456789012:role/bucketlink-verify"
	base, _ := startServeAt(t, addr, data, "--app-origin", "http://"+addr,
		"--azure-federation-issuer", fedIssuer, "--azure-federation-subject", fedSubject)

	minioBucket := func(name string) (bucket, ak, sk string) {
		bucket = testenv.BucketName(t, name)
		m.CreateBucket(t, bucket)
		m.PutObject(t, bucket, "data/sample.json", []byte(`{"x":1}`))
		ak, sk = testenv.NewCredentials(t)
		ak = strings.ToUpper(ak)
		m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
		return bucket, ak, sk
	}
	minioScenario := func(name, bucket, ak, sk string, mobile bool) map[string]any {
		url, _ := mintSession(t, base, keys.Admin)
		return map[string]any{"name": name, "url": url, "mobile": mobile, "provider": "s3_compatible", "auth": "access_key",
			"cors": true, "save": true, "fields": map[string]string{
				"name": "Browser " + name, "s3_endpoint_url": m.Endpoint, "s3_bucket_name": bucket,
				"s3_bucket_prefix": "data/", "s3_access_key_id": ak, "s3_secret_access_key": sk,
			}}
	}
	azureScenario := func(name string) map[string]any {
		container := testenv.ContainerName(t, name)
		a.CreateContainer(t, container)
		a.PutBlob(t, container, "data/sample.json", []byte(`{"x":1}`))
		url, _ := mintSession(t, base, keys.Admin)
		return map[string]any{"name": name, "url": url, "provider": "azure_blob", "auth": "account_key",
			"cors": true, "save": true, "fields": map[string]string{
				"name": "Browser " + name, "azure_account_name": a.AccountName, "azure_container_name": container,
				"azure_prefix": "data/", "azure_account_key": a.AccountKey,
			}}
	}
	// wantFlow checks a run that passed the checks, ran the CORS test and
	// saved.
	wantFlow := func(t *testing.T, r pageRun, corsAllowed bool) {
		t.Helper()
		if strings.Contains(r.URL, "#") || strings.Contains(r.URL, "session=") {
			t.Errorf("the token stayed in the address bar: %s", r.URL)
		}
		if r.Focused != "provider" {
			t.Errorf("focus on load: %q, want the provider", r.Focused)
		}
		if len(r.TabOrder) < 2 || r.TabOrder[0] != "auth" {
			t.Errorf("Tab from the provider goes %v, want the auth method first", r.TabOrder)
		}
		if len(r.Labels) > 0 {
			t.Errorf("controls without a label: %v", r.Labels)
		}
		if r.SawRunning == 0 {
			t.Error("the checks never showed as running")
		}
		if !r.ChecksOK || len(r.Checks) == 0 {
			t.Fatalf("checks: %q %v, errors %v", r.ChecksStatus, r.Checks, r.FieldErrors)
		}
		for _, c := range r.Checks {
			if !strings.HasSuffix(c, "=passed") {
				t.Errorf("check %s, want passed", c)
			}
		}
		if r.CORSOK != corsAllowed {
			t.Errorf("CORS test: %q (allowed %t), want allowed %t", r.CORSStatus, r.CORSOK, corsAllowed)
		}
		if !corsAllowed && !strings.Contains(r.CORSFix, strings.TrimSuffix(base, "/")) {
			t.Errorf("refused CORS: the document to apply does not name the page's origin %s: %q", base, r.CORSFix)
		}
		// The service's check from the app origin (the page's) agrees
		// with the browser.
		if want := map[bool]string{true: "Allowed", false: "Refused"}[corsAllowed]; !strings.Contains(r.CORSServer, want+"\n"+base) &&
			!strings.Contains(r.CORSServer, want+" "+base) && !strings.Contains(r.CORSServer, want+"\t"+base) {
			t.Errorf("step 4's check from the app origins: %q, want %s %s", r.CORSServer, want, base)
		}
		if corsAllowed && r.CORSFix != "" {
			t.Errorf("allowed CORS, and yet a document to apply: %q", r.CORSFix)
		}
		if !r.Saved {
			t.Errorf("save: %q, errors %v", r.SaveStatus, r.FieldErrors)
		}
		for _, req := range r.Requests {
			if strings.Contains(req, keys.Admin) {
				t.Errorf("an API key reached the browser: %s", req)
			}
		}
	}

	t.Run("MinIOCORSAllowed", func(t *testing.T) {
		m.SetCORSAllowOrigin(t, "*")
		bucket, ak, sk := minioBucket("page-ok")
		sc := minioScenario("minio-cors-allowed", bucket, ak, sk, false)
		r := b.run(t, sc)
		wantFlow(t, r, true)
		if !strings.Contains(r.Guidance, "s3:PutObject") {
			t.Errorf("guidance for access keys: %q", r.Guidance)
		}
		// The session is used: the same link now answers with a banner.
		again := b.run(t, map[string]any{"name": "used-session", "url": sc["url"], "expectBanner": true})
		if !strings.Contains(again.Banner, "already been used") || !again.FormHidden {
			t.Errorf("used session: banner %q, form hidden %t", again.Banner, again.FormHidden)
		}
	})
	t.Run("MinIOCORSRefusedOnAPhone", func(t *testing.T) {
		m.SetCORSAllowOrigin(t, "https://elsewhere.example")
		bucket, ak, sk := minioBucket("page-nocors")
		r := b.run(t, minioScenario("minio-cors-refused-phone", bucket, ak, sk, true))
		wantFlow(t, r, false)
		if r.Overflow > 0 {
			t.Errorf("on a phone-sized screen the page is %dpx wider than the screen", r.Overflow)
		}
		// MinIO has no bucket CORS to read: the service's document, not
		// merged, and the command that applies it.
		if !strings.Contains(r.CORSFix, "CORSRules") || !strings.Contains(r.CORSFix, "aws s3api put-bucket-cors") ||
			!strings.Contains(r.CORSFix, "could not be read") {
			t.Errorf("refused CORS on S3: document %q", r.CORSFix)
		}
	})
	t.Run("AzuriteCORSAllowed", func(t *testing.T) {
		a.SetCORS(t, []*service.CORSRule{{
			AllowedOrigins: ptr(base), AllowedMethods: ptr("GET,HEAD,PUT,OPTIONS"),
			AllowedHeaders: ptr("*"), ExposedHeaders: ptr("*"), MaxAgeInSeconds: ptr(int32(60)),
		}})
		wantFlow(t, b.run(t, azureScenario("azure-cors-allowed")), true)
	})
	t.Run("AzuriteCORSRefused", func(t *testing.T) {
		// The service's rules allow another origin only: the page's is
		// refused, and the fix adds a rule for it beside the existing one.
		a.SetCORS(t, []*service.CORSRule{{
			AllowedOrigins: ptr("https://elsewhere.example"), AllowedMethods: ptr("GET,PUT"),
			AllowedHeaders: ptr("*"), ExposedHeaders: ptr("*"), MaxAgeInSeconds: ptr(int32(60)),
		}})
		defer a.SetCORS(t, nil)
		r := b.run(t, azureScenario("azure-cors-refused"))
		wantFlow(t, r, false)
		if !strings.Contains(r.CORSFix, "az storage cors add") || !strings.Contains(r.CORSFix, "--account-name "+a.AccountName) ||
			strings.Contains(r.CORSFix, "could not be read") {
			t.Errorf("refused CORS on Azure: fix %q", r.CORSFix)
		}
	})
	t.Run("NoAppOrigins", func(t *testing.T) {
		// A service that checks no app origins: the page's fix is the
		// rule for its own origin alone, said to replace the bucket's.
		data := filepath.Join(t.TempDir(), "data")
		_, _, keys := provisionContract(t, data)
		base, _ := startServe(t, data)
		m.SetCORSAllowOrigin(t, "https://elsewhere.example")
		bucket, ak, sk := minioBucket("page-noorigins")
		sc := minioScenario("no-app-origins-cors-refused", bucket, ak, sk, false)
		sc["url"], _ = mintSession(t, base, keys.Admin)
		r := b.run(t, sc)
		if !r.ChecksOK || r.CORSOK || !r.Saved {
			t.Fatalf("checks %q, CORS %q, save %q", r.ChecksStatus, r.CORSStatus, r.SaveStatus)
		}
		if r.CORSServer != "" {
			t.Errorf("a CORS check from app origins the service does not have: %q", r.CORSServer)
		}
		for _, want := range []string{`"CORSRules"`, `"` + base + `"`, "aws s3api put-bucket-cors --bucket " + bucket + " --endpoint-url " + m.Endpoint, "cannot read"} {
			if !strings.Contains(r.CORSFix, want) {
				t.Errorf("the page's own fix without %q: %q", want, r.CORSFix)
			}
		}
	})
	t.Run("GuidanceIAMRole", func(t *testing.T) {
		account, externalID := setupInfo(t, base, keys.Admin)
		url, _ := mintSession(t, base, keys.Admin)
		r := b.run(t, map[string]any{"name": "guidance-iam-role", "url": url, "provider": "aws_s3", "auth": "iam_role",
			"guidanceOnly": true, "guidanceBucket": "acme-datasets", "guidancePrefix": "annotations/", "fields": map[string]string{
				"s3_bucket_name": "acme-datasets", "s3_bucket_prefix": "annotations/"}})
		for _, g := range []string{r.Guidance, r.GuidanceFilled} {
			if !strings.Contains(g, `"sts:ExternalId": [`) || !strings.Contains(g, `"`+externalID+`"`) || !strings.Contains(g, "arn:aws:iam::"+account+":root") ||
				!strings.Contains(g, "s3:PutObject") {
				t.Errorf("iam_role guidance without the trust policy of the org's external id %s: %q", externalID, g)
			}
		}
		if !strings.Contains(r.GuidanceFilled, "arn:aws:s3:::acme-datasets/annotations/*") {
			t.Errorf("guidance for the bucket and prefix typed: %q", r.GuidanceFilled)
		}
	})
	t.Run("GuidanceGCSAndAzure", func(t *testing.T) {
		for _, tt := range []struct {
			provider, auth, field string
			want                  []string
		}{
			{"gc_storage", "service_account", "gc_storage_bucket_name",
				[]string{"roles/storage.objectUser", "gcloud storage buckets add-iam-policy-binding gs://acme-datasets", "storage.objects.create"}},
			{"gc_storage", "impersonation", "gc_storage_bucket_name", []string{"no Google identity"}},
			{"azure_blob", "sas_token", "azure_container_name",
				[]string{"az storage container generate-sas", "'acme-datasets'", "Storage Blob Data Contributor", "az role assignment create"}},
		} {
			url, _ := mintSession(t, base, keys.Admin)
			r := b.run(t, map[string]any{"name": "guidance-" + tt.provider + "-" + tt.auth, "url": url, "provider": tt.provider, "auth": tt.auth,
				"guidanceOnly": true, "guidanceBucket": "acme-datasets", "fields": map[string]string{tt.field: "acme-datasets"}})
			for _, w := range tt.want {
				if !strings.Contains(r.GuidanceFilled, w) {
					t.Errorf("%s %s guidance without %q: %q", tt.provider, tt.auth, w, r.GuidanceFilled)
				}
			}
		}
	})
	t.Run("GuidanceAzurePrincipal", func(t *testing.T) {
		const secret = "azure_client_secret:password"
		for _, tt := range []struct {
			name, auth, mode string
			mobile           bool
			want, wantNot    []string
			inputs           []string
		}{
			{"service-principal", "service_principal", "", true,
				[]string{"Storage Blob Data Contributor", "az role assignment create --role 'Storage Blob Data Contributor'", "/containers/acme-datasets'"},
				[]string{"Storage Blob Data Reader", "federated"},
				[]string{"azure_tenant_id:text", "azure_client_id:text", secret}},
			{"service-principal-read-only", "service_principal", "read_only", false,
				[]string{"Storage Blob Data Reader", "az role assignment create --role 'Storage Blob Data Reader'"},
				[]string{"Storage Blob Data Contributor"},
				[]string{"azure_tenant_id:text", "azure_client_id:text", secret}},
			{"workload-identity", "workload_identity", "", false,
				[]string{"Storage Blob Data Contributor", "az ad app federated-credential create", `"issuer": "` + fedIssuer + `"`,
					`"subject": "` + fedSubject + `"`, `"api://AzureADTokenExchange"`},
				nil,
				[]string{"azure_tenant_id:text", "azure_client_id:text"}},
		} {
			url, _ := mintSession(t, base, keys.Admin)
			r := b.run(t, map[string]any{"name": "guidance-azure-" + tt.name, "url": url, "mobile": tt.mobile, "provider": "azure_blob",
				"auth": tt.auth, "accessMode": tt.mode, "guidanceOnly": true, "guidanceBucket": "acme-datasets",
				"fields": map[string]string{"azure_container_name": "acme-datasets"}})
			for _, w := range tt.want {
				if !strings.Contains(r.GuidanceFilled, w) {
					t.Errorf("%s guidance without %q: %q", tt.name, w, r.GuidanceFilled)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(r.GuidanceFilled, w) {
					t.Errorf("%s guidance with %q: %q", tt.name, w, r.GuidanceFilled)
				}
			}
			got := strings.Join(r.Inputs, " ")
			for _, in := range tt.inputs {
				if !strings.Contains(got, in) {
					t.Errorf("%s: no input %s in %v", tt.name, in, r.Inputs)
				}
			}
			if tt.auth == "workload_identity" && strings.Contains(got, "azure_client_secret") {
				t.Errorf("workload identity asks for a client secret: %v", r.Inputs)
			}
			if len(r.TabOrder) < 2 || r.TabOrder[0] != "auth" || r.TabOrder[1] != "access_mode" {
				t.Errorf("%s: Tab from the provider goes %v, want the auth method, then the access", tt.name, r.TabOrder)
			}
			if len(r.Labels) > 0 || r.Overflow > 0 {
				t.Errorf("%s: controls without a label %v, %dpx wider than the screen", tt.name, r.Labels, r.Overflow)
			}
		}
	})
	t.Run("AzurePrincipalMalformedTenant", func(t *testing.T) {
		// Validation refuses the tenant before any sign-in: no Entra ID.
		url, _ := mintSession(t, base, keys.Admin)
		r := b.run(t, map[string]any{"name": "azure-principal-bad-tenant", "url": url, "provider": "azure_blob", "auth": "service_principal",
			"accessMode": "read_only", "skipChecks": true, "save": true, "fields": map[string]string{
				"name": "Browser azure-principal-bad-tenant", "azure_account_name": "acmedata", "azure_container_name": "acme-datasets",
				"azure_tenant_id": "not a tenant!", "azure_client_id": "00000000-0000-0000-0000-000000000001",
				"azure_client_secret": "not-a-real-secret-0123456789"}})
		if !r.ChecksDisabled {
			t.Error("the checks may be run for a service principal, which the bucket verify does not take")
		}
		if r.Saved || !strings.Contains(r.FieldErrors["azure_tenant_id"], "directory (tenant) ID") {
			t.Fatalf("malformed tenant: save %q, errors %v; want the error on azure_tenant_id", r.SaveStatus, r.FieldErrors)
		}
		if r.FocusedAfterSave != "azure_tenant_id" || len(r.Invalid) != 1 || r.Invalid[0] != "azure_tenant_id" {
			t.Errorf("malformed tenant: focus %q, invalid %v; want azure_tenant_id alone", r.FocusedAfterSave, r.Invalid)
		}
		if strings.Contains(strings.Join(r.Console, " "), "not-a-real-secret") {
			t.Error("the client secret reached the console")
		}
	})
	t.Run("FailingCredential", func(t *testing.T) {
		bucket, ak, _ := minioBucket("page-badkey")
		sc := minioScenario("failing-credential", bucket, ak, "not-the-secret-key-0123456789", false)
		sc["cors"] = false // nothing to upload to
		r := b.run(t, sc)
		if r.ChecksOK || !strings.Contains(strings.Join(r.Checks, " "), "=failed") {
			t.Errorf("checks with a wrong secret: %q %v", r.ChecksStatus, r.Checks)
		}
		if len(r.FieldErrors) == 0 {
			t.Fatalf("no error on any field; status %q", r.ChecksStatus)
		}
		onCredential := false
		for f := range r.FieldErrors {
			onCredential = onCredential || f == "s3_secret_access_key" || f == "s3_access_key_id"
		}
		if !onCredential || r.Saved {
			t.Errorf("wrong secret: errors %v, saved %t; want the error on a credential field and nothing saved", r.FieldErrors, r.Saved)
		}
		for _, name := range configNames(t, base, keys.Admin) {
			if name == "Browser failing-credential" {
				t.Error("a config was saved with a failing credential")
			}
		}
	})
	t.Run("RotateMinIOKeys", func(t *testing.T) {
		bucket, ak, sk := minioBucket("page-rotate")
		uid := createConfig(t, base, keys.Admin, map[string]any{"name": "Rotated", "provider": "s3_compatible",
			"s3_endpoint_url": m.Endpoint, "s3_bucket_name": bucket, "s3_bucket_prefix": "data/",
			"s3_access_key_id": ak, "s3_secret_access_key": sk})
		newAK, newSK := testenv.NewCredentials(t)
		newAK = strings.ToUpper(newAK)
		m.AddUser(t, newAK, newSK, testenv.ReadWritePolicy(bucket))
		url := mintRotateSession(t, base, keys.Admin, uid)
		r := b.run(t, map[string]any{"name": "rotate-minio", "url": url, "rotate": true, "cors": false, "save": true,
			"fields": map[string]string{"s3_access_key_id": newAK, "s3_secret_access_key": newSK}})
		if !r.ProviderDisabled || !strings.Contains(r.Heading, "Rotated") || r.Prefilled["s3_bucket_name"] != bucket ||
			r.Prefilled["s3_endpoint_url"] != m.Endpoint || r.Prefilled["provider"] != "s3_compatible" {
			t.Errorf("rotate page: heading %q, provider fixed %t, filled %v", r.Heading, r.ProviderDisabled, r.Prefilled)
		}
		if r.Prefilled["s3_secret_access_key"] != "" || r.Prefilled["s3_access_key_id"] != "" {
			t.Error("the rotate page showed credentials")
		}
		if !r.ChecksOK || !r.Saved || !strings.Contains(r.Banner, "new credentials are saved") {
			t.Fatalf("rotation: checks %q, save %q, banner %q, errors %v", r.ChecksStatus, r.SaveStatus, r.Banner, r.FieldErrors)
		}
		// The old user loses its policy: the config still verifies, with the new one.
		m.DetachUserPolicy(t, ak)
		if !testStored(t, base, keys.Admin, uid) {
			t.Error("after the rotation the config does not verify with the new user")
		}
		for _, req := range r.Requests {
			if strings.Contains(req, keys.Admin) {
				t.Errorf("an API key reached the browser: %s", req)
			}
		}
	})
	names := strings.Join(configNames(t, base, keys.Admin), ",")
	for _, want := range []string{"minio-cors-allowed", "minio-cors-refused-phone", "azure-cors-allowed", "azure-cors-refused"} {
		if !strings.Contains(names, "Browser "+want) {
			t.Errorf("no config %q was created; the org has %s", "Browser "+want, names)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// createConfig creates a config over the API and returns its uid.
func createConfig(t *testing.T, base, key string, body map[string]any) string {
	t.Helper()
	var got struct {
		UID string `json:"uid"`
	}
	if status := callJSON(t, "POST", base+"/api/v1/storage-configs/", key, body, &got); status != http.StatusCreated {
		t.Fatalf("create config: %d", status)
	}
	return got.UID
}

// mintRotateSession mints a rotate session of uid and returns its link.
func mintRotateSession(t *testing.T, base, key, uid string) string {
	t.Helper()
	var got struct {
		ConnectURL string `json:"connect_url"`
	}
	if status := callJSON(t, "POST", base+"/api/v1/connect-sessions/", key, map[string]any{"purpose": "rotate", "config_uid": uid}, &got); status != http.StatusCreated {
		t.Fatalf("mint rotate session: %d", status)
	}
	return got.ConnectURL
}

// testStored runs test/ on uid and reports whether it verified.
func testStored(t *testing.T, base, key, uid string) bool {
	t.Helper()
	var got struct {
		Verified bool `json:"verified"`
	}
	if status := callJSON(t, "POST", base+"/api/v1/storage-configs/"+uid+"/test/", key, nil, &got); status != http.StatusOK {
		t.Fatalf("test: %d", status)
	}
	return got.Verified
}

// callJSON sends body (nil: none) with the API key and decodes the answer
// into out; it returns the status.
func callJSON(t *testing.T, method, url, key string, body, out any) int {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("X-Avala-Api-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}
