package httpapi_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/infra/testenv/entrafake"
	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// update rewrites the golden files of TestWireGolden from what the
// service answers now: `go test ./shared/httpapi -run TestWireGolden -update`.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden collects the answers of one scenario, normalised, as one text
// file: a section per request, the status and the body as sent.
type golden struct {
	t    *testing.T
	subs []string // value, placeholder pairs: the test's random names
	out  bytes.Buffer
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	idRE   = regexp.MustCompile(`"id":\d+`)
)

// replace makes value read as placeholder in the golden file.
func (g *golden) replace(value, placeholder string) { g.subs = append(g.subs, value, placeholder) }

// record adds the answer r of the request named what. Only volatile values
// are normalised: uids, ids, times, and the names the test chose at random
// (buckets, containers, endpoints on random ports).
func (g *golden) record(what string, r response) {
	body := string(r.Body)
	// Longest first, so that a name is never cut by one of its parts.
	pairs := make([][2]string, 0, len(g.subs)/2)
	for i := 0; i < len(g.subs); i += 2 {
		pairs = append(pairs, [2]string{g.subs[i], g.subs[i+1]})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	for _, p := range pairs {
		body = strings.ReplaceAll(body, p[0], p[1])
	}
	body = uuidRE.ReplaceAllString(body, "<uuid>")
	body = timeRE.ReplaceAllString(body, "<time>")
	body = idRE.ReplaceAllString(body, `"id":<id>`)
	fmt.Fprintf(&g.out, "### %s\n%d\n%s\n\n", what, r.Status, body)
}

// check compares the collected answers with testdata/golden/name.txt.
func (g *golden) check(name string) {
	g.t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(path, g.out.Bytes(), 0o644); err != nil {
			g.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		g.t.Fatalf("golden file: %v (run with -update to write it)", err)
	}
	if !bytes.Equal(want, g.out.Bytes()) {
		g.t.Errorf("answers differ from %s:\n%s", path, lineDiff(string(want), g.out.String()))
	}
}

// lineDiff lists the lines that differ, with their numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestWireGolden holds the storage-configs API's answers, byte for byte,
// for a config of every provider and auth method: create (201, and 400 for
// bad input and for credentials that fail the checks), get, list, PATCH
// (200, and 400 for a field that cannot change) and test/ (passing and
// failing). The answers are compared with testdata/golden after
// normalising only uids, ids, times and the test's random names.
func TestWireGolden(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin, member := e.keys["acme/admin"], e.keys["acme/member"]
	g := &golden{t: t}
	g.replace(e.minio.Endpoint, "<minio>")

	// aws_s3 and s3_compatible with access keys, at MinIO.
	bucket, ak, sk := e.bucketUser(rwActions...)
	e.minio.PutObject(t, bucket, "annotations/img-1.jpg", []byte("jpeg"))
	e.minio.PutObject(t, bucket, "data/img-1.jpg", []byte("jpeg"))
	g.replace(bucket, "<s3-bucket>")
	g.replace(ak, "<access-key>")
	// gc_storage with a service account (fake-gcs-server) and an HMAC key
	// (MinIO standing in for Google's XML API).
	gcsBucket := testenv.BucketName(t, "golden")
	e.gcs.CreateBucket(t, gcsBucket)
	e.gcs.PutObject(t, gcsBucket, "data/img-1.jpg", []byte("jpeg"))
	g.replace(gcsBucket, "<gcs-bucket>")
	hmacBucket, hmacID, hmacSecret := e.bucketUser(rwActions...)
	g.replace(hmacBucket, "<hmac-bucket>")
	hmacID = "GOOG" + strings.ToUpper(strings.ReplaceAll(hmacID, "-", ""))
	e.minio.AddUser(t, hmacID, hmacSecret, testenv.PolicyFor(hmacBucket, rwActions...))
	g.replace(hmacID, "<hmac-id>")
	// azure_blob with an account key and with a SAS token, at Azurite.
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "golden")
	a.CreateContainer(t, container)
	a.PutBlob(t, container, "data/img-1.jpg", []byte("jpeg"))
	g.replace(container, "<container>")
	g.replace(a.Endpoint(), "<azurite>")
	g.replace(a.AccountName, "<account>")
	token := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	rememberSAS(token)
	sasBody := azureBody(a, container)
	delete(sasBody, "azure_account_key")
	sasBody["azure_sas_token"] = token
	readOnlySAS := a.SASToken(t, container, "rl", time.Now().Add(time.Hour))
	rememberSAS(readOnlySAS)

	hmacBody := map[string]any{
		"name": "GCS HMAC", "provider": "gc_storage", "gc_storage_bucket_name": hmacBucket,
		"gc_storage_prefix": "data", "gc_storage_auth_method": "hmac",
		"gc_storage_hmac_access_id": hmacID, "gc_storage_hmac_secret": hmacSecret,
	}
	awsNoKeys := awsBody(bucket, ak, sk, "us-east-1")
	awsNoKeys["s3_is_accelerated"] = true
	awsNoKeys["s3_cloudfront_domain"] = "d111111abcdef8.cloudfront.net"
	awsNoKeys["s3_cloudfront_public_key_id"] = "K2JCJMDEHXQW5F"
	compat := e.compatBody(bucket, ak, sk)
	compat["s3_bucket_region"] = "us-east-1"
	type scenario struct {
		name string
		body map[string]any
		// bad are create bodies that must fail, by name.
		bad map[string]map[string]any
	}
	with := func(b map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range b {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	scenarios := []scenario{
		{"aws_s3-access_key", awsNoKeys, map[string]map[string]any{
			"wrong secret":   with(awsNoKeys, "s3_secret_access_key", "wrong-secret-0123456789", "s3_is_accelerated", false),
			"invalid fields": with(awsNoKeys, "s3_bucket_region", "nowhere", "s3_bucket_name", "A", "s3_access_key_id", "short", "gc_storage_prefix", "x"),
			"missing keys":   with(awsNoKeys, "s3_access_key_id", nil, "s3_secret_access_key", nil),
			"role and keys":  with(awsNoKeys, "s3_auth_method", "iam_role"),
		}},
		{"s3_compatible-access_key", compat, map[string]map[string]any{
			"wrong secret": with(compat, "s3_secret_access_key", "wrong-secret"),
			"bad endpoint": with(compat, "s3_endpoint_url", "ftp://x", "s3_auth_method", "iam_role", "s3_is_accelerated", true),
			"unknown key":  with(compat, "s3_access_key_id", "NOSUCHKEY0123456"),
		}},
		{"gc_storage-service_account", gcsBody(gcsBucket, serviceAccount(t)), map[string]map[string]any{
			"no bucket":   with(gcsBody("nosuch-"+gcsBucket, serviceAccount(t))),
			"bad key":     with(gcsBody(gcsBucket, "{}")),
			"hmac fields": with(gcsBody(gcsBucket, "{}"), "gc_storage_hmac_secret", "x", "gc_storage_bucket_name", "goog-x"),
		}},
		{"gc_storage-hmac", hmacBody, map[string]map[string]any{
			"wrong secret": with(hmacBody, "gc_storage_hmac_secret", "wrong-secret"),
			"bad id":       with(hmacBody, "gc_storage_hmac_access_id", "AKIA", "gc_storage_auth_json_content", "{}"),
			"bad method":   with(hmacBody, "gc_storage_auth_method", "password"),
		}},
		{"azure_blob-account_key", azureBody(a, container), map[string]map[string]any{
			"wrong key":   with(azureBody(a, container), "azure_account_key", "d3Jvbmcta2V5"),
			"both":        with(azureBody(a, container), "azure_sas_token", token),
			"bad names":   with(azureBody(a, container), "azure_account_name", "A!", "azure_container_name", "--", "azure_endpoint_url", "ftp://x"),
			"no such box": with(azureBody(a, container), "azure_container_name", "nosuch-"+container),
		}},
		{"azure_blob-sas_token", sasBody, map[string]map[string]any{
			"read-only token": with(sasBody, "azure_sas_token", readOnlySAS),
			"malformed token": with(sasBody, "azure_sas_token", "sv=2020-01-01"),
			"neither":         with(sasBody, "azure_sas_token", nil),
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			g.t = t
			g.out.Reset()
			for _, name := range sortedKeys(sc.bad) {
				g.record("create "+name, e.do("POST", base, admin, sc.bad[name]))
			}
			r := e.do("POST", base, admin, sc.body)
			g.record("create", r)
			wantStatus(t, r, http.StatusCreated)
			uid := r.json(t)["uid"].(string)
			g.record("get", e.do("GET", base+uid+"/", admin, nil))
			g.record("test", e.do("POST", base+uid+"/test/", member, nil))
			g.record("patch", e.do("PATCH", base+uid+"/", admin, map[string]any{"name": "Renamed", "reverify_interval_seconds": 900}))
			other := "aws_s3"
			if sc.body["provider"] == other {
				other = "s3_compatible"
			}
			g.record("patch provider", e.do("PATCH", base+uid+"/", admin, map[string]any{"provider": other}))
			g.check(sc.name)
		})
	}
	g.t = t
	g.out.Reset()
	// A failing test/: the MinIO user loses its object permissions.
	r := e.do("GET", base+"?limit=100", admin, nil)
	g.record("list", r)
	g.check("list")
	t.Run("test failing", func(t *testing.T) {
		g.t = t
		g.out.Reset()
		b, k, s := e.bucketUser(rwActions...)
		g.replace(b, "<s3-bucket-2>")
		g.replace(k, "<access-key-2>")
		r := e.do("POST", base, admin, e.compatBody(b, k, s))
		wantStatus(t, r, http.StatusCreated)
		uid := r.json(t)["uid"].(string)
		e.minio.SetUserPolicy(t, k, testenv.PolicyFor(b))
		g.record("test read-only", e.do("POST", base+uid+"/test/", member, nil))
		g.check("test-failing")
	})
	t.Run("aws_s3-iam_role", func(t *testing.T) { goldenIAMRole(t, e) })
	t.Run("azure_blob-service_principal", func(t *testing.T) { goldenServicePrincipal(t, e) })
}

// goldenServicePrincipal holds the answers for azure_blob configs that
// sign in as an Entra ID service principal, with a client secret and
// federated (workload_identity), at Azurite with --oauth basic behind
// rbacGate, with entrafake as the authority.
func goldenServicePrincipal(t *testing.T, e *env) {
	az, entra, gate, hc := startPrincipalWorld(t)
	const role = "arn:aws:iam::123456789012:role/bucketlink-verify"
	issuer := entrafake.NewIssuer(t, "https://issuer.example")
	e.api.Verifier = &verify.Verifier{
		Opener: &anyblob.Opener{
			HTTPClient: hc, AzureBlobEndpoint: gate.srv.URL, AzureAuthorityHost: entra.AuthorityHost(),
			AzureAssertion: func(_ context.Context, aud string) (string, error) { return issuer.Token(role, aud, time.Minute), nil },
		},
		Deadline: 5 * time.Second,
	}
	sp, fed := entra.AddApp(""), entra.AddFederatedApp("", issuer.Federation(role, "api://AzureADTokenExchange"))
	rememberSecret(sp.Secret)
	container := testenv.ContainerName(t, "golden-sp")
	az.CreateContainer(t, container)
	az.PutBlob(t, container, "data/img-1.jpg", []byte("jpeg"))
	g := &golden{t: t}
	g.replace(container, "<container>")
	g.replace(az.AccountName, "<account>")
	for i, a := range []*entrafake.App{sp, fed} {
		gate.assign(a.ObjectID, "Storage Blob Data Contributor")
		g.replace(a.TenantID, fmt.Sprintf("<tenant-%d>", i+1))
		g.replace(a.ClientID, fmt.Sprintf("<client-%d>", i+1))
	}
	admin := e.keys["acme/admin"]
	body := func(a *entrafake.App, kv ...any) map[string]any {
		b := map[string]any{
			"name": "Azure principal", "provider": "azure_blob", "azure_account_name": az.AccountName,
			"azure_container_name": container, "azure_prefix": "data/", "azure_auth_method": "service_principal",
			"azure_tenant_id": a.TenantID, "azure_client_id": a.ClientID, "azure_client_secret": a.Secret,
		}
		if a.Federation != nil {
			b["azure_auth_method"] = "workload_identity"
			delete(b, "azure_client_secret")
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	g.record("create wrong tenant", e.do("POST", base, admin, body(sp, "azure_tenant_id", "11111111-2222-4333-8444-555555555555")))
	g.record("create wrong client", e.do("POST", base, admin, body(sp, "azure_client_id", "00000000-0000-4000-8000-000000000002")))
	g.record("create wrong secret", e.do("POST", base, admin, body(sp, "azure_client_secret", "not-the-secret")))
	g.record("create bad fields", e.do("POST", base, admin, body(sp, "azure_tenant_id", "../x", "azure_client_id", "app", "azure_account_key", "a2V5")))
	gate.assign(sp.ObjectID, "")
	g.record("create no role", e.do("POST", base, admin, body(sp)))
	g.record("create no role read_only", e.do("POST", base, admin, body(sp, "access_mode", "read_only")))
	gate.assign(sp.ObjectID, "Storage Blob Data Contributor")
	for _, a := range []*entrafake.App{sp, fed} {
		r := e.do("POST", base, admin, body(a))
		g.record("create "+body(a)["azure_auth_method"].(string), r)
		wantStatus(t, r, http.StatusCreated)
		uid := r.json(t)["uid"].(string)
		g.record("get", e.do("GET", base+uid+"/", admin, nil))
		g.record("test", e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil))
		g.record("patch", e.do("PATCH", base+uid+"/", admin, map[string]any{"name": "Renamed"}))
	}
	g.record("create workload_identity with a secret", e.do("POST", base, admin, body(fed, "azure_client_secret", "s")))
	g.check("azure_blob-service_principal")
}

// goldenIAMRole holds the answers for an aws_s3 iam_role config, whose
// AssumeRole goes to moto's STS and whose bucket is moto's S3.
func goldenIAMRole(t *testing.T, e *env) {
	m := testenv.SharedMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	cfg := m.AWSConfig()
	roles, err := awsrole.NewFromConfig(cfg, rec.URL, awsrole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "golden-role")
	awsroletest.CreateBucket(t, cfg, bucket, "annotations/seed.json")
	e.api.Verifier = &verify.Verifier{
		Opener: &anyblob.Opener{
			HTTPClient: netguard.Policy{AllowPrivate: true}.HTTPClient(),
			S3:         &s3open.Opener{AWSEndpoint: rec.URL, Roles: roles, Orgs: e.store},
		},
		Deadline: 5 * time.Second,
	}
	g := &golden{t: t}
	g.replace(bucket, "<role-bucket>")
	admin := e.keys["acme/admin"]
	body := map[string]any{
		"name": "AWS role", "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": "us-east-1",
		"s3_bucket_prefix": "annotations/", "s3_auth_method": "iam_role",
		"s3_role_arn": "arn:aws:iam::111122223333:role/bucketlink-access",
	}
	g.record("create no arn", e.do("POST", base, admin, map[string]any{
		"name": "AWS role", "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": "us-east-1",
		"s3_auth_method": "iam_role", "s3_secret_access_key": "x"}))
	rec.FailAssumeRole(awsroletest.AccessDenied("arn:aws:iam::123456789012:user/bucketlink", "arn:aws:iam::111122223333:role/bucketlink-access"))
	g.record("create not assumable", e.do("POST", base, admin, body))
	rec.FailAssumeRole(nil)
	r := e.do("POST", base, admin, body)
	g.record("create", r)
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	g.record("get", e.do("GET", base+uid+"/", admin, nil))
	g.record("test", e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil))
	g.record("patch", e.do("PATCH", base+uid+"/", admin, map[string]any{"name": "Renamed", "reverify_interval_seconds": nil}))
	g.check("aws_s3-iam_role")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
