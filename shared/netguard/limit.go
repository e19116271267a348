package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The limits every answer of HTTPClient is read under. A storage SDK reads
// an error body whole into memory before it parses it (aws-sdk-go-v2
// copies it into a bytes.Buffer, azcore's body download policy reads
// every body with io.ReadAll), so without them one answer of 800 MB costs
// the process 800 MB and more. They are sized to what real providers
// send to what the checks ask (a listing page of at most 1,000 keys, a
// ranged read of 16 bytes, a small PUT, a DELETE, a bucket's CORS rules),
// with room to spare:
//
//   - MaxErrorBodyBytes (64 KiB), for every answer that is not 2xx. A
//     storage error document is a code, a message and request ids:
//     S3's is about 300-600 bytes; its largest, SignatureDoesNotMatch,
//     echoes the string to sign and the canonical request, with their
//     bytes in hex, about 15 KB for a 1,024-byte key; Azure's
//     AuthenticationFailed echoes the string to sign (1-2 KB); GCS JSON
//     errors are under 2 KB.
//   - MaxBodyBytes (2 MiB), for 2xx answers. The largest is one listing
//     page of 1,000 keys, the most the checks ask for (blob.MaxListObjects;
//     the other answers are a few bytes of a ranged read, empty PUT and
//     DELETE answers, CORS rules of at most 64 KB). Keys are at most 1,024
//     bytes (S3, GCS) or 1,024 characters (Azure); each listed object adds
//     its metadata: about 300 bytes of XML on S3 (LastModified, ETag,
//     checksum, Size, StorageClass; ListObjectsV2 sends no owner unless
//     asked), about 750 on Azure (List Blobs sends some 20 properties per
//     blob), about 30 bytes of JSON on GCS (the driver asks for name and
//     size only). A page of 1,000 keys of the longest ASCII names is thus
//     about 1.33 MB on S3, 1.77 MB on Azure and 1.05 MB on GCS, and
//     typical keys of 50-100 bytes make 0.1-0.9 MB. 2 MiB (2.10 MB) holds
//     the largest of them; only a page whose 1,000 keys nearly all have
//     the greatest length and are mostly escaped or multi-byte characters
//     would pass it. The bound matters as much for what an SDK builds from
//     a page: aws-sdk-go-v2 turns each <Contents> element of about 50 bytes
//     into some 450 bytes of parsed object and garbage, so a hostile page
//     of the smallest elements costs about 20 MiB of heap at 2 MiB (and
//     did about 40 at 4 MiB, too much for five verifications at once in a
//     256 MB Lambda).
//   - MaxResponseHeaderBytes (64 KiB), for the headers of any answer
//     (http.Transport.MaxResponseHeaderBytes; for HTTP/2 also the
//     SETTINGS_MAX_HEADER_LIST_SIZE the transport announces). User metadata,
//     the largest part of a storage answer's headers, is at most 2 KB on S3
//     and 8 KiB on Azure and GCS; the rest is 1-2 KB.
//
// A listing asks for a number of keys, and is read under a limit sized to
// it (ListingBodyBytes, which drivers set with WithBodyLimit): 2 KiB per
// key (the longest entry above is 1.77 KB) and 48 KiB for the envelope
// (the XML or JSON around the entries, the bucket name, prefix, markers
// and tokens: a few KB), which makes MaxBodyBytes for 1,000 keys, and
// never less than MinListingBodyBytes (256 KiB: room for a store that
// sends a page of short keys where fewer were asked for). The checks of create, test and re-verification list 11
// keys, so a hostile answer to them costs a tenth of one to the 1,000-key
// scan of bucket-verify, whose concurrency the worker pool bounds.
//
// Past a limit, the read (or the round trip, for headers) fails with a
// *TooLargeError, and nothing more of the answer is read.
const (
	MaxErrorBodyBytes      = 64 << 10
	MaxBodyBytes           = 2 << 20
	MaxResponseHeaderBytes = 64 << 10

	MinListingBodyBytes  = 256 << 10
	ListingKeyBytes      = 2 << 10
	listingEnvelopeBytes = 48 << 10
)

// ListingBodyBytes is the limit for the body of a listing that asks for
// keys keys: ListingKeyBytes each and the envelope, within
// [MinListingBodyBytes, MaxBodyBytes].
func ListingBodyBytes(keys int) int64 {
	n := listingEnvelopeBytes + int64(max(keys, 0))*ListingKeyBytes
	return min(max(n, MinListingBodyBytes), MaxBodyBytes)
}

// bodyLimitKey is the context key of WithBodyLimit.
type bodyLimitKey struct{}

// WithBodyLimit returns a copy of ctx under which the 2xx bodies that
// HTTPClient reads for requests made with it are limited to n bytes
// instead of MaxBodyBytes. It only lowers the limit: n above MaxBodyBytes,
// or not positive, leaves MaxBodyBytes.
func WithBodyLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, bodyLimitKey{}, n)
}

// bodyLimit is the 2xx body limit for a request made with ctx.
func bodyLimit(ctx context.Context) int64 {
	if n, ok := ctx.Value(bodyLimitKey{}).(int64); ok && n > 0 && n < MaxBodyBytes {
		return n
	}
	return MaxBodyBytes
}

// ErrResponseTooLarge matches (errors.Is) every *TooLargeError.
var ErrResponseTooLarge = errors.New("netguard: response too large")

// Parts of an answer a TooLargeError names.
const (
	PartBody      = "body"
	PartErrorBody = "error body"
	PartHeaders   = "headers"
)

// TooLargeError reports an answer that passed one of the limits above.
// The error of the read or round trip wraps it, so errors.As finds it.
type TooLargeError struct {
	// Part is PartBody, PartErrorBody or PartHeaders.
	Part string
	// Limit is the limit passed, in bytes.
	Limit int64
	// Status is the answer's HTTP status (0 for headers).
	Status int
	// Host is the host that answered.
	Host string
}

// Error implements error.
func (e *TooLargeError) Error() string {
	if e.Part == PartHeaders {
		return fmt.Sprintf("netguard: %s sent more than %s of response headers", e.Host, size(e.Limit))
	}
	return fmt.Sprintf("netguard: %s answered %d with a %s larger than %s", e.Host, e.Status, e.Part, size(e.Limit))
}

// Is reports whether target is ErrResponseTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrResponseTooLarge }

// ResponseTooLarge describes what passed which limit, for a message to the
// user ("an error answer larger than 64 KiB"). Packages that must
// recognise the error without importing netguard (blob, verify) match on
// this method.
func (e *TooLargeError) ResponseTooLarge() string {
	switch e.Part {
	case PartHeaders:
		return "response headers larger than " + size(e.Limit)
	case PartErrorBody:
		return "an error answer larger than " + size(e.Limit)
	}
	return "an answer larger than " + size(e.Limit)
}

// RetryableError tells the AWS SDK's retryer not to try again: the same
// endpoint would answer the same.
func (e *TooLargeError) RetryableError() bool { return false }

// NonRetriable tells the Azure SDK's retry policy not to try again.
func (e *TooLargeError) NonRetriable() {}

// size formats a limit: "64 KiB", "2 MiB".
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitBody replaces resp.Body with one that fails with a *TooLargeError
// once more than the limit for resp's status (and, for 2xx, for the
// request's context) has been read.
func limitBody(resp *http.Response, req *http.Request) {
	host := req.URL.Host
	part, limit := PartBody, bodyLimit(req.Context())
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		part, limit = PartErrorBody, MaxErrorBodyBytes
	}
	resp.Body = &limitedBody{
		rc:   resp.Body,
		left: limit,
		err:  &TooLargeError{Part: part, Limit: limit, Status: resp.StatusCode, Host: host},
	}
}

// limitedBody reads at most left bytes of rc; asked for more while rc has
// more, it fails with err (and keeps failing). Like http.MaxBytesReader,
// it asks rc for one byte past the limit to tell "exactly the limit" from
// "more".
// Close does not wait for a Read: closing is how a blocked Read is ended.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  *TooLargeError
	hit  bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.hit {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.hit = true
	return n, b.err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// headersTooLarge reports the transport's error for an answer whose
// headers passed MaxResponseHeaderBytes. net/http has no sentinel for it;
// these are its messages for HTTP/1 and HTTP/2.
func headersTooLarge(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server response headers exceeded") ||
		strings.Contains(msg, "response header list larger than advertised limit")
}
