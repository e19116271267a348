package anyblob_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// This file drives whole verifications, through anyblob and netguard's
// client as the service wires them, against loopback servers written for
// these tests. They are hostile answers, not emulators: each sends what
// no storage service would (an error body of hundreds of megabytes, an
// endless listing, a megabyte of headers), generated as it is written and
// never held in memory by the server, to prove that no answer costs more
// than bounded memory and that it fails with its own code on the field of
// the endpoint.

// heapBudget is the most the heap may grow during one hostile
// verification.
const heapBudget = 100 << 20

// mib is a megabyte, for sizes in messages and metrics.
const mib = 1 << 20

// fill writes n bytes of chunk (repeated, the last copy cut short) to w,
// forever if n < 0, and stops at the first write error (the client hung
// up). It holds nothing but chunk.
func fill(w io.Writer, chunk []byte, n int64) {
	for n != 0 {
		c := chunk
		if n > 0 && int64(len(c)) > n {
			c = c[:n]
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		if n > 0 {
			n -= int64(len(c))
		}
	}
}

// repeat is s repeated to at least 32 KiB: the unit fill writes.
func repeat(s string) []byte { return bytes.Repeat([]byte(s), 32<<10/len(s)+1) }

// hostileServer starts a loopback server with handler h: a hostile answer
// written for a test, not an emulator.
func hostileServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// errorBody answers every request with status and a body of size bytes
// that starts like the provider's error document (xmlHead) and goes on
// with filler; declared says whether Content-Length announces it.
func errorBody(status int, header http.Header, xmlHead string, size int64, declared bool) http.HandlerFunc {
	filler := repeat("hostile ")
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/xml")
		if declared {
			w.Header().Set("Content-Length", strconv.FormatInt(int64(len(xmlHead))+size, 10))
		}
		w.WriteHeader(status)
		io.WriteString(w, xmlHead)
		fill(w, filler, size)
	}
}

// s3Head and azureHead start the error documents of S3 and Azure.
const (
	s3Head    = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied `
	azureHead = `<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidQueryParameterValue</Code><Message>`
)

// s3Denied answers 403 with a 300 MB body, Azure-style 400 with 400 MB,
// and the GCS JSON API 403 with 300 MB.
func s3Denied(size int64) http.HandlerFunc {
	return errorBody(http.StatusForbidden, nil, s3Head, size, false)
}

func azureBadRequest(size int64) http.HandlerFunc {
	return errorBody(http.StatusBadRequest, http.Header{"X-Ms-Error-Code": {"InvalidQueryParameterValue"}}, azureHead, size, true)
}

func gcsDenied(size int64) http.HandlerFunc {
	return errorBody(http.StatusForbidden, nil, `{"error":{"code":403,"message":"`, size, false)
}

// endlessListing answers listings (by isList) with 200 and a listing of
// head followed by item forever, and every other request as a bucket
// that accepts writes and deletes would.
func endlessListing(isList func(*http.Request) bool, head, item string, okStatus map[string]int) http.HandlerFunc {
	items := repeat(item)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && isList(r) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, head)
			fill(w, items, -1)
			return
		}
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost { // GCS media upload
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"name":"probe"}`)
			return
		}
		w.Header().Set("ETag", `"0x8D0"`)
		w.WriteHeader(okStatus[r.Method])
	}
}

var (
	s3OK    = map[string]int{http.MethodPut: http.StatusOK, http.MethodDelete: http.StatusNoContent, http.MethodGet: http.StatusOK}
	azureOK = map[string]int{http.MethodPut: http.StatusCreated, http.MethodDelete: http.StatusAccepted, http.MethodGet: http.StatusOK}
)

func s3Listing() http.HandlerFunc {
	return endlessListing(func(r *http.Request) bool { return r.URL.Query().Get("list-type") == "2" },
		`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name>`,
		`<Contents><Key>k</Key><Size>1</Size></Contents>`, s3OK)
}

func azureListing() http.HandlerFunc {
	return endlessListing(func(r *http.Request) bool { return r.URL.Query().Get("comp") == "list" },
		`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="data"><Blobs>`,
		`<Blob><Name>k</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>`, azureOK)
}

func gcsListing() http.HandlerFunc {
	return endlessListing(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/o") },
		`{"items":[`, `{"name":"k","size":"1"},`, s3OK)
}

// hugeHeaders answers every request with 1 MiB of headers (1,024 of 1 KiB).
func hugeHeaders(w http.ResponseWriter, r *http.Request) {
	v := strings.Repeat("h", 1<<10)
	for i := range 1 << 10 {
		w.Header().Set(fmt.Sprintf("X-Hostile-%d", i), v)
	}
	w.WriteHeader(http.StatusOK)
}

// hostileTarget is one provider's config aimed at a hostile server.
type hostileTarget struct {
	provider string
	// field is where the failure must be reported.
	field string
	open  func(t testing.TB, url string) (*anyblob.Opener, *storageconfig.Config, storageconfig.Credentials)
}

func guardedClient() *http.Client { return netguard.Policy{AllowPrivate: true}.HTTPClient() }

var (
	s3Target = hostileTarget{"s3_compatible", "s3_endpoint_url",
		func(t testing.TB, url string) (*anyblob.Opener, *storageconfig.Config, storageconfig.Credentials) {
			return &anyblob.Opener{HTTPClient: guardedClient()},
				&storageconfig.Config{Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: "bucket", Endpoint: url, UsePathStyle: true}},
				storageconfig.Credentials{"access_key_id": "AKIAHOSTILETEST", "secret_access_key": "hostile-test-secret"}
		}}
	azureTarget = hostileTarget{"azure_blob", "azure_endpoint_url",
		func(t testing.TB, url string) (*anyblob.Opener, *storageconfig.Config, storageconfig.Credentials) {
			return &anyblob.Opener{HTTPClient: guardedClient()},
				&storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: "hostile", Container: "data", Endpoint: url + "/hostile/"}},
				storageconfig.Credentials{"azure_account_key": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))}
		}}
	gcsTarget = hostileTarget{"gc_storage", "non_field_errors",
		func(t testing.TB, url string) (*anyblob.Opener, *storageconfig.Config, storageconfig.Credentials) {
			return &anyblob.Opener{HTTPClient: guardedClient(), GCSEndpoint: url},
				&storageconfig.Config{Provider: gcs.Name, Settings: &gcs.Settings{BucketName: "bucket"}},
				storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(t, nil)}
		}}
	hmacTarget = hostileTarget{"gc_storage (HMAC)", "non_field_errors",
		func(t testing.TB, url string) (*anyblob.Opener, *storageconfig.Config, storageconfig.Credentials) {
			return &anyblob.Opener{HTTPClient: guardedClient(), GCSHMACEndpoint: url, GCSHMACRegion: "us-east-1"},
				hmacConfig("bucket"),
				storageconfig.Credentials{"access_key_id": "GOOG1EHOSTILETEST", "secret_access_key": "hostile-test-secret"}
		}}
)

// TestHostileEndpoints runs a verification (Verify, and VerifyBucket, the
// bucket-verify run) against each hostile answer: each must fail with
// response_too_large on the endpoint's field, within the heap budget.
func TestHostileEndpoints(t *testing.T) {
	tests := []struct {
		name    string
		target  hostileTarget
		handler http.HandlerFunc
		// listOnly: only the listing is hostile; the write lane passes.
		listOnly bool
	}{
		{"s3_compatible 403 with a 300 MB body", s3Target, s3Denied(300 * mib), false},
		{"s3_compatible 200 listing without end", s3Target, s3Listing(), true},
		{"s3_compatible 1 MiB of headers", s3Target, hugeHeaders, false},
		{"azure_blob 400 with a 400 MB body", azureTarget, azureBadRequest(400 * mib), false},
		{"azure_blob 200 listing without end", azureTarget, azureListing(), true},
		{"azure_blob 1 MiB of headers", azureTarget, hugeHeaders, false},
		{"gc_storage 403 with a 300 MB body", gcsTarget, gcsDenied(300 * mib), false},
		{"gc_storage 200 listing without end", gcsTarget, gcsListing(), true},
		{"gc_storage 1 MiB of headers", gcsTarget, hugeHeaders, false},
		{"gc_storage HMAC 403 with a 300 MB body", hmacTarget, s3Denied(300 * mib), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostileServer(t, tc.handler)
			opener, cfg, creds := tc.target.open(t, srv.URL)
			// Timeouts far above the defaults: what must end each
			// verification here is the byte bound, not a clock, even on a
			// loaded machine where reading 256 KiB under the race
			// detector can take seconds.
			v := &verify.Verifier{Opener: opener, CallTimeout: 30 * time.Second, Deadline: time.Minute}
			var res verify.Result
			peak := peakHeap(func() { res = v.Verify(t.Context(), cfg, creds) })
			t.Logf("Verify: heap peak +%.1f MiB", float64(peak)/mib)
			if peak > heapBudget {
				t.Errorf("Verify: the heap grew by %.0f MiB, more than %d MiB", float64(peak)/mib, heapBudget/mib)
			}
			wantTooLarge(t, res, tc.target.field, tc.listOnly)
			t.Logf("%s: %v", tc.target.field, res.Errors[tc.target.field])

			var bres verify.BucketResult
			peak = peakHeap(func() { bres = v.VerifyBucket(t.Context(), cfg, creds) })
			t.Logf("VerifyBucket: heap peak +%.1f MiB", float64(peak)/mib)
			if peak > heapBudget {
				t.Errorf("VerifyBucket: the heap grew by %.0f MiB, more than %d MiB", float64(peak)/mib, heapBudget/mib)
			}
			wantTooLarge(t, bres.Result, tc.target.field, tc.listOnly)
			if bres.SignedURL != "" {
				t.Errorf("VerifyBucket gave a signed URL for a failed verification")
			}
		})
	}
}

// wantTooLarge checks that res failed with response_too_large on field
// alone: the list check, and the write check unless listOnly.
func wantTooLarge(t *testing.T, res verify.Result, field string, listOnly bool) {
	t.Helper()
	codes := map[string]string{}
	for _, c := range res.Checks {
		codes[c.Name] = c.Code
	}
	if codes["list"] != "response_too_large" {
		t.Errorf("list check: %q, want response_too_large (checks %+v)", codes["list"], res.Checks)
	}
	if !listOnly && codes["write"] != "response_too_large" {
		t.Errorf("write check: %q, want response_too_large (checks %+v)", codes["write"], res.Checks)
	}
	msgs := res.Errors[field]
	if len(res.Errors) != 1 || len(msgs) != 1 {
		t.Fatalf("errors %v, want one message on %s only", res.Errors, field)
	}
	if !strings.Contains(msgs[0], "more than a bucket would") {
		t.Errorf("%s: %q does not say the endpoint answered more than a bucket would", field, msgs[0])
	}
}

// countingTransport counts the bytes of the bodies its answers to GETs
// carry.
type countingTransport struct {
	base http.RoundTripper
	read atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestLongestListingFits: a real listing page of 1,000 keys of the
// greatest length (1,024 bytes; 1,024 characters on Azure), from the
// emulators, reads under netguard's limits: the cap refuses what no
// bucket sends, not what a bucket can send.
func TestLongestListingFits(t *testing.T) {
	const keys = 1000
	// 1,024 bytes, in segments of at most 200 (MinIO stores keys as
	// paths, whose segments have at most 255 bytes).
	longKey := func(i int) string {
		k := fmt.Sprintf("long/%04d", i)
		for len(k) < 1024 {
			k += "/" + strings.Repeat("k", min(200, 1024-len(k)-1))
		}
		return k
	}
	putAll := func(put func(key string)) {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					put(longKey(i))
				}
			})
		}
		for i := range keys {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	list := func(t *testing.T, opener *anyblob.Opener, cfg *storageconfig.Config, creds storageconfig.Credentials) {
		t.Helper()
		counter := &countingTransport{base: opener.HTTPClient.Transport}
		opener.HTTPClient = &http.Client{Transport: counter}
		b, err := opener.Open(t.Context(), cfg, creds)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		objs, err := b.List(t.Context(), "long/", keys)
		if err != nil {
			t.Fatalf("List of %d keys of 1,024 bytes: %v", keys, err)
		}
		if len(objs) != keys {
			t.Fatalf("List returned %d objects, want %d", len(objs), keys)
		}
		t.Logf("a page of %d keys of 1,024 bytes is %.2f MB (the limit is %.2f MB)",
			keys, float64(counter.read.Load())/1e6, float64(netguard.MaxBodyBytes)/1e6)
	}

	t.Run("s3_compatible (MinIO)", func(t *testing.T) {
		m := testenv.SharedMinIO(t)
		bucket := testenv.BucketName(t, "long")
		m.CreateBucket(t, bucket)
		putAll(func(key string) { m.PutObject(t, bucket, key, []byte("x")) })
		list(t, &anyblob.Opener{HTTPClient: guardedClient()},
			&storageconfig.Config{Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: bucket, Endpoint: m.Endpoint, UsePathStyle: true, Region: m.Region}},
			storageconfig.Credentials{"access_key_id": m.RootUser, "secret_access_key": m.RootPassword})
	})
	t.Run("azure_blob (Azurite)", func(t *testing.T) {
		a := testenv.SharedAzurite(t)
		container := testenv.ContainerName(t, "long")
		a.CreateContainer(t, container)
		putAll(func(key string) { a.PutBlob(t, container, key, []byte("x")) })
		list(t, &anyblob.Opener{HTTPClient: guardedClient()},
			&storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: a.AccountName, Container: container, Endpoint: a.Endpoint()}},
			storageconfig.Credentials{"azure_account_key": a.AccountKey})
	})
}
