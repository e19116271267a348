package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/memqueue"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// verifyOpts shape a bucket-verify env.
type verifyOpts struct {
	recordDeadline time.Duration // default 20s
	lease          time.Duration // default 5s
	verifyDeadline time.Duration // the verifier's; default 10s
	// wrapVerifier, if set, wraps the real verifier (to count or stall
	// runs); wrapHandler wraps the worker's queue handler.
	wrapVerifier func(verifyworker.BucketVerifier) verifyworker.BucketVerifier
	wrapHandler  func(queue.Handler) queue.Handler
	// offset, if set, is added to the clock of the API and the worker.
	offset *atomic.Int64
	// orgCap is Server.VerifyOrgCap (0: the default).
	orgCap int
}

// verifyEnv is a running API (the same handler `bucketlink serve` runs)
// with the bucket-verify worker pool in process: real SQLite store, real
// local sealer, the real verifier and drivers. aws_s3 and gc_storage HMAC
// traffic goes to the package's MinIO (BUCKETLINK_AWS_S3_ENDPOINT and
// BUCKETLINK_GCS_HMAC_ENDPOINT of a test deployment), gc_storage
// service-account traffic to its fake-gcs-server (BUCKETLINK_GCS_ENDPOINT);
// s3_compatible and azure_blob go wherever the request's endpoint points.
type verifyEnv struct {
	*env
	dir       string       // the data directory: the SQLite files and master.key
	runs      atomic.Int64 // VerifyBucket calls
	worker    *verifyworker.Worker
	verifyKey []byte // Server.VerifyKey
	// apiStore is the API's view of the store, counting the calls on
	// verification records.
	apiStore *countingStore
}

// countingStore counts the API's calls on verification records.
type countingStore struct {
	*sqlitestore.Store
	gets, writes atomic.Int64
}

func (c *countingStore) GetVerification(ctx context.Context, key string) (*verification.Record, error) {
	c.gets.Add(1)
	return c.Store.GetVerification(ctx, key)
}

func (c *countingStore) CreateVerification(ctx context.Context, r *verification.Record) error {
	c.writes.Add(1)
	return c.Store.CreateVerification(ctx, r)
}

func (c *countingStore) UpdateVerification(ctx context.Context, r *verification.Record) error {
	c.writes.Add(1)
	return c.Store.UpdateVerification(ctx, r)
}

func (c *countingStore) ReplaceVerification(ctx context.Context, r *verification.Record, v int64) error {
	c.writes.Add(1)
	return c.Store.ReplaceVerification(ctx, r, v)
}

func newVerifyEnv(t testing.TB, o verifyOpts) *verifyEnv {
	t.Helper()
	if o.recordDeadline == 0 {
		o.recordDeadline = 20 * time.Second
	}
	if o.lease == 0 {
		o.lease = 5 * time.Second
	}
	if o.verifyDeadline == 0 {
		o.verifyDeadline = 10 * time.Second
	}
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
	e := &verifyEnv{dir: dir, env: &env{t: t, minio: m, gcs: g, store: st, orgs: map[string]*identity.Org{}, keys: map[string]string{}}}
	log := slog.New(slog.NewJSONHandler(syncWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := func() time.Time {
		if o.offset == nil {
			return time.Now()
		}
		return time.Now().Add(time.Duration(o.offset.Load()))
	}
	verifier := &verify.Verifier{
		Opener: &anyblob.Opener{
			HTTPClient:      netguard.Policy{AllowPrivate: true}.HTTPClient(),
			S3:              &s3open.Opener{AWSEndpoint: m.Endpoint},
			GCSEndpoint:     g.Endpoint,
			GCSHMACEndpoint: m.Endpoint,
			GCSHMACRegion:   m.Region,
		},
		Deadline: o.verifyDeadline,
	}
	var bv verifyworker.BucketVerifier = countingVerifier{inner: verifier, n: &e.runs}
	if o.wrapVerifier != nil {
		bv = o.wrapVerifier(bv)
	}
	e.worker = &verifyworker.Worker{Store: st, Sealer: sealer, Verifier: bv, LeaseTTL: o.lease, Logger: log, Now: now}
	var h queue.Handler = e.worker.Handle
	if o.wrapHandler != nil {
		h = o.wrapHandler(h)
	}
	q, err := memqueue.New(h, memqueue.Options{
		Workers:     4,
		MaxAttempts: verifyworker.MaxAttempts(o.lease, o.recordDeadline),
		RetryDelay:  verifyworker.RetryDelay(o.lease),
	})
	if err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithCancel(ctx)
	if err := q.Start(qctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); q.Close() })
	e.verifyKey = sealer.DeriveKey("verification-record-key")
	e.apiStore = &countingStore{Store: st}
	api := &httpapi.Server{
		Store:                e.apiStore,
		Sealer:               sealer,
		Verifier:             verifier,
		CursorKey:            sealer.DeriveKey("pagination-cursor"),
		AWSAccountID:         "123456789012",
		Logger:               log,
		Now:                  now,
		Queue:                q,
		VerifyKey:            e.verifyKey,
		VerifyRecordDeadline: o.recordDeadline,
		VerifyOrgCap:         o.orgCap,
	}
	e.srv = httptest.NewServer(openapitest.Handler(t, api.Handler()))
	t.Cleanup(e.srv.Close)
	seedOrgs(t, st, e.orgs, e.keys)
	return e
}

// countingVerifier counts VerifyBucket calls: one per verification run.
type countingVerifier struct {
	inner verifyworker.BucketVerifier
	n     *atomic.Int64
}

func (c countingVerifier) VerifyBucket(ctx context.Context, cfg *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	c.n.Add(1)
	return c.inner.VerifyBucket(ctx, cfg, creds)
}

// verifyPath is the endpoint for an org reference (numeric id or slug).
func verifyPath(org string) string { return "/v1/api/organizations/" + org + "/buckets/verify" }

// verifyAnswer is a decoded bucket-verify response.
type verifyAnswer struct {
	Success               bool    `json:"success"`
	Error                 string  `json:"error"`
	ConnectionStatus      string  `json:"connectionStatus"`
	ConnectionError       string  `json:"connectionError"`
	ConnectionStatusSince string  `json:"connectionStatusSince"`
	Files                 *[]file `json:"files"`
	HasInfoLabelsFile     *bool   `json:"hasInfoLabelsFile"`
	SignedURL             string  `json:"signedUrl"`
	Endpoint              *string `json:"endpoint"`

	raw    map[string]any
	status int
	body   string
}

type file struct {
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	FolderName string `json:"folderName"`
}

// post sends one bucket-verify request and decodes the answer.
func (e *verifyEnv) post(org, key string, body any) verifyAnswer {
	e.t.Helper()
	r := e.do("POST", verifyPath(org), key, body)
	a := verifyAnswer{status: r.Status, body: string(r.Body)}
	if err := json.Unmarshal(r.Body, &a); err != nil {
		e.t.Fatalf("answer %d is not JSON: %s", r.Status, r.Body)
	}
	_ = json.Unmarshal(r.Body, &a.raw)
	return a
}

// orgID is the numeric id of an org of the env, as a path segment.
func (e *verifyEnv) orgID(slug string) string {
	return strconv.FormatInt(e.orgs[slug].ID, 10)
}

// pollUntilFinal posts body until the answer is connected or error, or
// the time is up.
func (e *verifyEnv) pollUntilFinal(t testing.TB, org, key string, body any, within time.Duration) verifyAnswer {
	t.Helper()
	end := time.Now().Add(within)
	for {
		a := e.post(org, key, body)
		if a.status != http.StatusOK || !a.Success {
			t.Fatalf("poll: %d %s", a.status, a.body)
		}
		if a.ConnectionStatus != "connecting" {
			return a
		}
		if time.Now().After(end) {
			t.Fatalf("still connecting after %s: %s", within, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantConnected checks the shape of a connected answer.
func wantConnected(t testing.TB, a verifyAnswer, azure bool) {
	t.Helper()
	if !a.Success || a.ConnectionStatus != "connected" {
		t.Fatalf("answer = %s, want connected", a.body)
	}
	if a.Files == nil || a.HasInfoLabelsFile == nil || a.SignedURL == "" {
		t.Errorf("connected answer lacks files, hasInfoLabelsFile or signedUrl: %s", a.body)
	}
	if _, err := time.Parse(time.RFC3339, a.ConnectionStatusSince); err != nil {
		t.Errorf("connectionStatusSince %q: %v", a.ConnectionStatusSince, err)
	}
	if _, ok := a.raw["connectionError"]; ok {
		t.Errorf("connected answer has connectionError: %s", a.body)
	}
	if _, ok := a.raw["error"]; ok {
		t.Errorf("connected answer has error: %s", a.body)
	}
	if (a.Endpoint != nil) != azure {
		t.Errorf("endpoint present = %v, want %v (Azure only): %s", a.Endpoint != nil, azure, a.body)
	}
}

// wantOnly checks that an answer has only the given top-level fields.
func wantOnly(t *testing.T, a verifyAnswer, fields ...string) {
	t.Helper()
	for k := range a.raw {
		found := false
		for _, f := range fields {
			found = found || f == k
		}
		if !found {
			t.Errorf("answer has field %s; want only %v: %s", k, fields, a.body)
		}
	}
}

// putSigned PUTs data to a presigned URL with a plain HTTP client and the
// headers the provider needs.
func putSigned(t *testing.T, signedURL string, headers map[string]string, data []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, signedURL, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT to the signed URL: %d %s", resp.StatusCode, b)
	}
}

// signedKey returns the object key a path-style presigned URL names:
// the path after /<bucket>/ (or /<account>/<container>/ for Azurite).
func signedKey(t *testing.T, signedURL, prefix string) string {
	t.Helper()
	u, err := url.Parse(signedURL)
	if err != nil {
		t.Fatal(err)
	}
	path, ok := strings.CutPrefix(u.Path, prefix)
	if !ok {
		t.Fatalf("signed URL path %q does not start with %q", u.Path, prefix)
	}
	return path
}
