// Package blobtest is the conformance suite every blob driver's test runs
// once against a real server: it proves each driver keeps the contract of
// blob.Bucket, including the portable error codes of real failures.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// Harness opens buckets on a real server for the suite. Bucket is
// required; each failure constructor is optional, and its cases run only
// when it is set (a driver whose server cannot produce that failure leaves
// it nil).
type Harness struct {
	// Bucket returns a driver for a fresh, empty bucket whose credentials
	// may list, read, write and delete.
	Bucket func(t *testing.T) blob.Bucket

	// MissingBucket returns a driver for a bucket that does not exist, with
	// credentials that could use it if it did.
	MissingBucket func(t *testing.T) blob.Bucket
	// WrongSecret returns a driver for an existing bucket with a known
	// access key and a wrong secret.
	WrongSecret func(t *testing.T) blob.Bucket
	// UnknownKey returns a driver for an existing bucket with an access key
	// the server does not know.
	UnknownKey func(t *testing.T) blob.Bucket
	// WrongRegion returns a driver for an existing bucket signed for another
	// region than the bucket's, and the bucket's real region.
	WrongRegion func(t *testing.T) (b blob.Bucket, region string)
	// Hanging returns a driver whose endpoint accepts connections and never
	// answers.
	Hanging func(t *testing.T) blob.Bucket

	// DeleteMissingIsNotFound is true for providers where deleting a
	// missing key is NotFound; false where it succeeds (S3).
	DeleteMissingIsNotFound bool
	// HTTPClient uploads to presigned URLs; nil means a plain http.Client.
	HTTPClient *http.Client
	// PresignNotHonoured, when not empty, says why the server cannot
	// check the driver's presigned URLs (the harness reaches it in a way
	// the SDK cannot sign for): PresignPut must then still return a URL for the
	// key, and the upload through it is not tried. The driver's own tests
	// must check the URL.
	PresignNotHonoured string
}

// callTimeout bounds each driver call of the suite.
const callTimeout = 10 * time.Second

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	if h.Bucket == nil {
		t.Fatal("blobtest: Harness.Bucket is required")
	}
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"ListEmpty", testListEmpty},
		{"ListPrefixLimit", testListPrefixLimit},
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"ReadEmptyObject", testReadEmptyObject},
		{"ReadMissingKey", testReadMissingKey},
		{"DeleteMissingKey", testDeleteMissingKey},
		{"PresignPut", testPresignPut},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
	runFailures(t, h)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return c
}

func testListEmpty(t *testing.T, h Harness) {
	b := h.Bucket(t)
	objs, err := b.List(ctx(t), "", 10)
	if err != nil {
		t.Fatalf("List of an empty bucket: %v", err)
	}
	if len(objs) != 0 {
		t.Fatalf("List of an empty bucket = %v, want none", objs)
	}
}

func testListPrefixLimit(t *testing.T, h Harness) {
	b := h.Bucket(t)
	for _, k := range []string{"a/1", "a/2", "a/3", "ab", "b/1"} {
		mustPut(t, b, k, []byte("data-"+k))
	}
	tests := []struct {
		name   string
		prefix string
		limit  int
		want   []string
	}{
		{name: "limit below count", prefix: "a/", limit: 2, want: []string{"a/1", "a/2"}},
		{name: "limit above count", prefix: "a/", limit: 10, want: []string{"a/1", "a/2", "a/3"}},
		{name: "prefix without slash", prefix: "a", limit: 10, want: []string{"a/1", "a/2", "a/3", "ab"}},
		{name: "no match", prefix: "zzz/", limit: 10, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := b.List(ctx(t), tt.prefix, tt.limit)
			if err != nil {
				t.Fatalf("List(%q, %d): %v", tt.prefix, tt.limit, err)
			}
			var keys []string
			for _, o := range objs {
				keys = append(keys, o.Key)
				if want := int64(len("data-" + o.Key)); o.Size != want {
					t.Errorf("List: %s has size %d, want %d", o.Key, o.Size, want)
				}
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("List(%q, %d) = %v, want %v", tt.prefix, tt.limit, keys, tt.want)
			}
		})
	}
}

func testRoundTrip(t *testing.T, h Harness) {
	b := h.Bucket(t)
	data := []byte("hello, bucketlink: round trip")
	mustPut(t, b, "dir/obj.txt", data)
	tests := []struct {
		name string
		n    int64
		want []byte
	}{
		{name: "prefix of the object", n: 5, want: data[:5]},
		{name: "exact size", n: int64(len(data)), want: data},
		{name: "more than the object", n: 1 << 20, want: data},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.ReadRange(ctx(t), "dir/obj.txt", tt.n)
			if err != nil {
				t.Fatalf("ReadRange(%d): %v", tt.n, err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ReadRange(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
	if err := b.Delete(ctx(t), "dir/obj.txt"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := b.ReadRange(ctx(t), "dir/obj.txt", 5)
	wantCode(t, "ReadRange after Delete", err, blob.NotFound)
	objs, err := b.List(ctx(t), "dir/", 10)
	if err != nil || len(objs) != 0 {
		t.Fatalf("List after Delete = %v, %v; want none", objs, err)
	}
}

func testOverwrite(t *testing.T, h Harness) {
	b := h.Bucket(t)
	mustPut(t, b, "k", []byte("first version"))
	mustPut(t, b, "k", []byte("second"))
	got, err := b.ReadRange(ctx(t), "k", 100)
	if err != nil || string(got) != "second" {
		t.Fatalf("ReadRange after overwrite = %q, %v; want %q", got, err, "second")
	}
}

func testReadEmptyObject(t *testing.T, h Harness) {
	b := h.Bucket(t)
	mustPut(t, b, "empty", nil)
	got, err := b.ReadRange(ctx(t), "empty", 16)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadRange of an empty object = %q, %v; want no bytes", got, err)
	}
}

func testReadMissingKey(t *testing.T, h Harness) {
	b := h.Bucket(t)
	_, err := b.ReadRange(ctx(t), "no/such/key", 16)
	wantCode(t, "ReadRange of a missing key", err, blob.NotFound)
}

func testDeleteMissingKey(t *testing.T, h Harness) {
	b := h.Bucket(t)
	err := b.Delete(ctx(t), "no/such/key")
	if h.DeleteMissingIsNotFound {
		wantCode(t, "Delete of a missing key", err, blob.NotFound)
	} else if err != nil {
		t.Fatalf("Delete of a missing key: %v, want success", err)
	}
}

func testPresignPut(t *testing.T, h Harness) {
	b := h.Bucket(t)
	u, err := b.PresignPut(ctx(t), "uploads/presigned.bin", 5*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	if h.PresignNotHonoured != "" {
		if pu, err := url.Parse(u); err != nil || !strings.HasSuffix(pu.Path, "/uploads/presigned.bin") {
			t.Fatalf("PresignPut = %q, want a URL of the key", u)
		}
		t.Logf("the upload through the presigned URL is not tried: %s", h.PresignNotHonoured)
		return
	}
	data := []byte("uploaded through a presigned URL")
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("presigned request: %v", err)
	}
	hc := h.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("PUT to presigned URL: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT to presigned URL: %s: %s", resp.Status, body)
	}
	got, err := b.ReadRange(ctx(t), "uploads/presigned.bin", 1024)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadRange after presigned PUT = %q, %v; want %q", got, err, data)
	}
}

func mustPut(t *testing.T, b blob.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(ctx(t), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// wantCode fails unless err is a *blob.Error with an Op and code want.
func wantCode(t *testing.T, what string, err error, want blob.Code) *blob.Error {
	t.Helper()
	var be *blob.Error
	if !errors.As(err, &be) {
		t.Fatalf("%s: %v (%T), want a *blob.Error with code %s", what, err, err, want)
	}
	if be.Code != want || blob.CodeOf(err) != want {
		t.Fatalf("%s: code %s, want %s (error: %v)", what, be.Code, want, err)
	}
	if be.Op == "" {
		t.Errorf("%s: *blob.Error has no Op", what)
	}
	return be
}

// describe names a failure case for messages.
func describe(op string, code blob.Code) string { return fmt.Sprintf("%s on %s", op, code) }
