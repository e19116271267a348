// Package blob is the provider driver contract: the few bucket operations
// that verification needs, and the portable error codes every driver maps its
// SDK's failures to. One driver per provider lives below (s3blob, ...);
// package blobtest is the conformance suite each driver's test calls once.
package blob

import (
	"context"
	"errors"
	"fmt"
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
)

// Error is a driver failure with a portable code. Op names the operation
// ("list", "read", "put", "delete", "presign"); Region is set for WrongRegion
// when the provider said where the bucket is; TLS is set for Unreachable
// when a TLS handshake or certificate failed.
type Error struct {
	Code   Code
	Op     string
	Region string
	TLS    bool
	Err    error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("blob %s: %s", e.Op, e.Code)
	if e.Region != "" {
		s += " (bucket region " + e.Region + ")"
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
