// Package blob is the provider driver contract: the few bucket operations
// that verification needs, and the portable error codes every driver maps its
// SDK's failures to. One driver per provider lives below (s3blob, ...);
// package blobtest is the conformance suite each driver's test calls once.
package blob

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Object is one listed object.
type Object struct {
	Key  string
	Size int64
}

// Bucket is one bucket (or container) at one prefix-independent location,
// opened with the user's credentials only.
//
// Every method returns nil or an error for which CodeOf gives one of the
// codes below; it never blocks past ctx's deadline.
type Bucket interface {
	// List returns up to limit objects whose keys start with prefix, in key
	// order; a limit of 0 or less, or more than MaxListObjects, means
	// MaxListObjects, and List never returns more, whatever the provider
	// sends. An empty listing is not an error. A missing bucket is NotFound;
	// a bucket the credentials may not list is AccessDenied.
	List(ctx context.Context, prefix string, limit int) ([]Object, error)
	// ReadRange reads at most n bytes from the start of key. A missing key is
	// NotFound; a key the credentials may not read is AccessDenied.
	ReadRange(ctx context.Context, key string, n int64) ([]byte, error)
	// Put writes data at key, replacing any object there.
	Put(ctx context.Context, key string, data []byte) error
	// Delete removes key. Deleting a missing key is not an error on
	// providers that treat it as success (S3); otherwise NotFound.
	Delete(ctx context.Context, key string) error
	// PresignPut returns a URL that allows one HTTP PUT of key for ttl.
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// PresignHeaders is implemented by a Bucket whose presigned PUT URLs must
// be used with request headers (Azure's Put Blob needs x-ms-blob-type), so
// that callers learn them without knowing the provider.
type PresignHeaders interface {
	// PresignPutHeaders returns the headers an HTTP PUT to a URL from
	// PresignPut must carry, in a map the caller may keep.
	PresignPutHeaders() map[string]string
}

// PresignPutHeaders returns the headers a PUT to a URL from b.PresignPut
// must carry: nil unless b implements PresignHeaders.
func PresignPutHeaders(b Bucket) map[string]string {
	if h, ok := b.(PresignHeaders); ok {
		return h.PresignPutHeaders()
	}
	return nil
}

// MaxListObjects is the most objects List returns: one page of the S3 and
// GCS listings, and what the checks ask for at most (a scan of 1,000 keys).
// A provider that sends more than asked for is cut short; what it sends is
// bounded in bytes below the SDKs (netguard.MaxBodyBytes).
const MaxListObjects = 1000

// ListLimit is the number of objects List asks the provider for, given the
// caller's limit: limit, or MaxListObjects when limit is 0 or less or
// larger.
func ListLimit(limit int) int {
	if limit <= 0 || limit > MaxListObjects {
		return MaxListObjects
	}
	return limit
}

// Code is a portable failure category.
type Code string

// The codes every driver maps to.
const (
	Unknown           Code = "unknown"
	NotFound          Code = "not_found"           // bucket or key does not exist
	AccessDenied      Code = "access_denied"       // credentials valid, action not allowed
	InvalidAccessKey  Code = "invalid_access_key"  // the key id is unknown to the provider
	SignatureMismatch Code = "signature_mismatch"  // the secret does not match the key id
	WrongRegion       Code = "wrong_region"        // the bucket lives in another region; Error.Region names it
	Unreachable       Code = "unreachable"         // DNS, connect, TLS or a blocked address
	Timeout           Code = "timeout"             // the deadline passed before an answer
	InvalidBucketName Code = "invalid_bucket_name" // the provider rejected the name
	// ResponseTooLarge: the endpoint answered more than a bucket would (a
	// body or headers past the client's limits; see IsResponseTooLarge),
	// and the answer was not read further.
	ResponseTooLarge Code = "response_too_large"
	// KMSAccessDenied: the provider refused because of the object's
	// encryption key (S3 SSE-KMS), not the bucket's permissions;
	// Error.KMSKey and Error.KMSAction say which key and what the
	// credentials may not do with it.
	KMSAccessDenied Code = "kms_access_denied"
	// Retained: a retention rule (S3 Object Lock) keeps the object version
	// from being deleted; Error.Retention says which, where the provider
	// told.
	Retained Code = "retained"
	// RequesterPays: the bucket makes the requester pay, and requests
	// without the header that accepts the charge are refused;
	// Error.RequestHeader names it.
	RequesterPays Code = "requester_pays"
)

// KMS actions a KMSAccessDenied error names.
const (
	KMSGenerateDataKey = "kms:GenerateDataKey" // needed to write an SSE-KMS object
	KMSDecrypt         = "kms:Decrypt"         // needed to read one
)

// Retention is what keeps an object version from being deleted.
type Retention struct {
	// Mode is the retention mode ("GOVERNANCE" or "COMPLIANCE" on S3); ""
	// when only a legal hold keeps it or the provider did not say.
	Mode string
	// Until is when the retention ends; zero when not known.
	Until time.Time
	// LegalHold is set when a legal hold keeps the version (until lifted).
	LegalHold bool
	// FromBucketDefault is set when Mode and Until were worked out from the
	// bucket's default retention (the version's own were not readable).
	FromBucketDefault bool
	// Hidden is set when a delete marker now hides the kept version from
	// listings.
	Hidden bool
}

// String describes r for a message: "GOVERNANCE retention until
// 2026-12-02T11:37:53Z", "a legal hold", or "a retention rule".
func (r *Retention) String() string {
	var parts []string
	if r.Mode != "" {
		s := r.Mode + " retention"
		if r.FromBucketDefault {
			s = "the bucket's default " + s
		}
		if !r.Until.IsZero() {
			s += " until " + r.Until.UTC().Format(time.RFC3339)
		}
		parts = append(parts, s)
	}
	if r.LegalHold {
		parts = append(parts, "a legal hold")
	}
	if len(parts) == 0 {
		return "a retention rule"
	}
	return strings.Join(parts, " and ")
}

// Written is what the provider said about an object that PutVersion
// wrote.
type Written struct {
	// Version is the id of the version the write created; "" when the
	// bucket does not keep versions.
	Version string
	// KMSKey is the key that encrypts the object, when a KMS key does
	// (SSE-KMS); "" otherwise.
	KMSKey string
}

// Versions is implemented by drivers of providers that keep object versions
// (S3), so that a caller that writes an object to remove it again leaves
// nothing behind: on a versioned bucket, Delete leaves the data as a
// noncurrent version under a delete marker. Callers type-assert a Bucket
// to it.
type Versions interface {
	// PutVersion is Put that also returns what the provider said of the
	// object it wrote.
	PutVersion(ctx context.Context, key string, data []byte) (Written, error)
	// DeleteVersion removes one version of key for good; an empty version
	// is Delete. A version a retention rule keeps is Retained, with
	// Error.Retention set as far as the credentials may read it; the
	// driver then hides it under a delete marker where it can.
	DeleteVersion(ctx context.Context, key, version string) error
}

// WriteChecker is implemented by drivers that can tell whether the
// credentials may write without writing anything, for connections that
// are to be read-only. Callers type-assert a Bucket to it.
type WriteChecker interface {
	// MayWrite reports whether the credentials may write key, leaving
	// nothing at key: (true, nil) when they may, (false, nil) when the
	// provider refused (AccessDenied), and an error otherwise.
	MayWrite(ctx context.Context, key string) (bool, error)
}

// Located is implemented by drivers whose buckets live in a region (S3),
// to say which one requests were signed for: the config's, or the one the
// driver found.
type Located interface {
	Region() string
}

// Error is a driver failure with a portable code. Op names the operation
// ("list", "read", "put", "delete", "presign", "region"); Region is set for
// WrongRegion when the provider said where the bucket is; TLS is set for
// Unreachable when a TLS handshake or certificate failed.
type Error struct {
	Code   Code
	Op     string
	Region string
	TLS    bool
	Err    error

	// KMSAction is set for KMSAccessDenied: the action the credentials lack
	// on the key (KMSGenerateDataKey to write, KMSDecrypt to read); KMSKey
	// is the key's ARN (or id) when the provider named it.
	KMSKey    string
	KMSAction string
	// Retention is set for Retained when the provider said what keeps the
	// object.
	Retention *Retention
	// RequestHeader is set for RequesterPays: the header, as "Name: value",
	// every request to the bucket must carry.
	RequestHeader string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("blob %s: %s", e.Op, e.Code)
	if e.Region != "" {
		s += " (bucket region " + e.Region + ")"
	}
	if e.KMSAction != "" {
		s += " (" + e.KMSAction + " on key " + cmp.Or(e.KMSKey, "unknown") + ")"
	}
	if e.Retention != nil {
		s += " (kept by " + e.Retention.String() + ")"
	}
	if e.RequestHeader != "" {
		s += " (requests must carry " + e.RequestHeader + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error in err's chain, Timeout for a
// context deadline, or Unknown.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	return Unknown
}
