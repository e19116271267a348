package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// secrets collects every secret the suite hands to the service, and
// transcript every response body and log line the service produced, so
// that TestNoSecretLeaks (and each env's cleanup) can grep them.
var leaks struct {
	sync.Mutex
	secrets    []string
	transcript bytes.Buffer
}

func rememberSecret(s string) {
	leaks.Lock()
	leaks.secrets = append(leaks.secrets, s)
	leaks.Unlock()
}

// syncWriter is the log sink of one env: it appends to the transcript.
type syncWriter struct{}

func (syncWriter) Write(p []byte) (int, error) {
	if os.Getenv("BUCKETLINK_TEST_LOGS") != "" {
		os.Stderr.Write(p)
	}
	leaks.Lock()
	defer leaks.Unlock()
	return leaks.transcript.Write(p)
}

// env is one running API: real SQLite store, real local sealer, the real
// drivers of every provider (aws_s3 and gc_storage HMAC keys against the
// package's MinIO, gc_storage service-account keys against its
// fake-gcs-server, azure_blob wherever azure_endpoint_url points, e.g.
// Azurite), behind an httptest server.
type env struct {
	t       testing.TB
	minio   *testenv.MinIO
	gcs     *testenv.FakeGCS
	store   *sqlitestore.Store
	srv     *httptest.Server
	orgs    map[string]*identity.Org
	keys    map[string]string // "org/role" -> API key
	account string
	events  *changeevents.Bus // what test/ publishes when is_verified flips
	api     *httpapi.Server   // the API srv serves (on the public URL of srv's address)
}

func newEnv(t testing.TB, deadline time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "bucketlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := localseal.Open(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.SharedMinIO(t)
	g := testenv.SharedFakeGCS(t)
	e := &env{t: t, minio: m, gcs: g, store: st, orgs: map[string]*identity.Org{}, keys: map[string]string{}, account: "123456789012", events: &changeevents.Bus{}}
	api := &httpapi.Server{
		Store:  st,
		Events: e.events,
		Sealer: sealer,
		Verifier: &verify.Verifier{
			// The operator settings of a test deployment: every provider's
			// traffic goes to its local server.
			Opener: &anyblob.Opener{
				HTTPClient:      netguard.Policy{AllowPrivate: true}.HTTPClient(),
				S3:              &s3open.Opener{AWSEndpoint: m.Endpoint},
				GCSEndpoint:     g.Endpoint,
				GCSHMACEndpoint: m.Endpoint,
				GCSHMACRegion:   m.Region,
			},
			Deadline: deadline,
		},
		CursorKey:    sealer.DeriveKey("pagination-cursor"),
		AWSAccountID: e.account,
		Logger:       slog.New(slog.NewJSONHandler(syncWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	// Links on the server's own address, as `bucketlink serve` defaults
	// to (--public-url).
	e.api = api
	e.srv = httptest.NewUnstartedServer(nil)
	// Every answer is checked against the OpenAPI document.
	e.srv.Config.Handler = openapitest.Handler(t, httpapi.WithPublicURL(api.Handler(), &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String()}))
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	seedOrgs(t, st, e.orgs, e.keys)
	// A user in both orgs: admin of acme, viewer of other.
	key, _, err := provision.CreateAPIKey(ctx, st, "acme", identity.RoleAdmin, "both")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := provision.AddMember(ctx, st, "both", "other", identity.RoleViewer); err != nil {
		t.Fatal(err)
	}
	rememberSecret(key)
	e.keys["both"] = key
	return e
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// do sends a request with an API key (header X-Avala-Api-Key, or x-api-key
// when key starts with "x:"; a connect session's token after "s:") and records the body for the leak check.
func (e *env) do(method, path, key string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.HasPrefix(key, "x:"):
		req.Header.Set("x-api-key", key[2:])
	case strings.HasPrefix(key, "s:"):
		req.Header.Set(httpapi.HeaderConnectSession, key[2:])
	case key != "":
		req.Header.Set("X-Avala-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	leaks.Lock()
	leaks.transcript.Write(b)
	leaks.transcript.WriteByte('\n')
	leaks.Unlock()
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// bucketUser makes a bucket and a MinIO user whose policy grants the given
// object actions on it (ListBucket is always granted). Keys are upper case so
// that they also pass the aws_s3 key-id format.
func (e *env) bucketUser(objectActions ...string) (bucket, ak, sk string) {
	e.t.Helper()
	bucket = testenv.BucketName(e.t, "e2e")
	e.minio.CreateBucket(e.t, bucket)
	ak, sk = testenv.NewCredentials(e.t)
	ak = strings.ToUpper(ak)
	e.minio.AddUser(e.t, ak, sk, testenv.PolicyFor(bucket, objectActions...))
	rememberSecret(sk)
	return bucket, ak, sk
}

// compatBody is a create request for an s3_compatible config at MinIO.
func (e *env) compatBody(bucket, ak, sk string) map[string]any {
	return map[string]any{
		"name": "MinIO " + bucket, "provider": "s3_compatible", "s3_endpoint_url": e.minio.Endpoint,
		"s3_bucket_name": bucket, "s3_bucket_prefix": "data", "s3_access_key_id": ak, "s3_secret_access_key": sk,
	}
}

// awsBody is a create request for an aws_s3 config; the operator endpoint
// override sends it to MinIO.
func awsBody(bucket, ak, sk, region string) map[string]any {
	return map[string]any{
		"name": "AWS " + bucket, "provider": "aws_s3", "s3_bucket_name": bucket, "s3_bucket_region": region,
		"s3_bucket_prefix": "annotations/", "s3_access_key_id": ak, "s3_secret_access_key": sk,
	}
}

var rwActions = []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}

// seedOrgs creates the orgs "acme" and "other" in st, each with an admin,
// a member and a viewer key, into orgs and keys ("org/role" -> key).
func seedOrgs(t testing.TB, st store.Identities, orgs map[string]*identity.Org, keys map[string]string) {
	t.Helper()
	ctx := context.Background()
	for _, slug := range []string{"acme", "other"} {
		o, err := provision.CreateOrg(ctx, st, slug, strings.ToUpper(slug))
		if err != nil {
			t.Fatal(err)
		}
		orgs[slug] = o
		for _, r := range []identity.Role{identity.RoleAdmin, identity.RoleMember, identity.RoleViewer} {
			key, _, err := provision.CreateAPIKey(ctx, st, slug, r, slug+"-"+string(r))
			if err != nil {
				t.Fatal(err)
			}
			rememberSecret(key)
			keys[slug+"/"+string(r)] = key
		}
	}
}
