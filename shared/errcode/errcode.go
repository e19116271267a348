// Package errcode holds the few portable error codes that every layer of
// bucketlink speaks. Lower layers wrap their failures in an *Error or a
// FieldErrors; the HTTP edge maps a code to a status and a documented body in
// one table (see package httpapi). Nothing here knows about HTTP.
package errcode

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Code is a portable error category.
type Code int

const (
	// Unknown is any error that carries no code; it becomes a generic 500.
	Unknown Code = iota
	// NotFound: the thing does not exist (or the caller may not know it does).
	NotFound
	// AlreadyExists: a create collided with an existing key.
	AlreadyExists
	// Conflict: an optimistic-concurrency check failed; the caller may retry.
	Conflict
	// InvalidArgument: the input is wrong; usually carried as FieldErrors.
	InvalidArgument
	// Unauthenticated: no or an unknown API key.
	Unauthenticated
	// PermissionDenied: the caller is known but may not do this.
	PermissionDenied
	// Unavailable: a dependency (KMS, the store) is down; retry later.
	Unavailable
	// TooLarge: the request body is over the limit.
	TooLarge
)

var names = map[Code]string{
	Unknown: "unknown", NotFound: "not_found", AlreadyExists: "already_exists",
	Conflict: "conflict", InvalidArgument: "invalid_argument", Unauthenticated: "unauthenticated",
	PermissionDenied: "permission_denied", Unavailable: "unavailable", TooLarge: "too_large",
}

func (c Code) String() string { return names[c] }

// Error is an error with a code. Msg is safe to show a caller; Err is the
// cause, which is logged but never shown.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Msg != "":
		return e.Msg + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Msg
	}
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a code and a caller-safe message.
func New(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a code around a cause.
func Wrap(c Code, err error, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Sentinel errors for errors.Is; every store and sealer returns errors that
// match one of these where it applies.
var (
	ErrNotFound      = &Error{Code: NotFound, Msg: "not found"}
	ErrAlreadyExists = &Error{Code: AlreadyExists, Msg: "already exists"}
	ErrConflict      = &Error{Code: Conflict, Msg: "concurrent update"}
	ErrUnavailable   = &Error{Code: Unavailable, Msg: "dependency unavailable"}
)

// Is lets errors.Is(err, ErrNotFound) match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && (t == ErrNotFound || t == ErrAlreadyExists || t == ErrConflict || t == ErrUnavailable) && t.Code == e.Code
}

// CodeOf returns the code of the first *Error or FieldErrors in err's chain.
func CodeOf(err error) Code {
	if err == nil {
		return Unknown
	}
	var fe FieldErrors
	if errors.As(err, &fe) {
		return InvalidArgument
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// FieldErrors maps a request field to what is wrong with it, in the shape the
// storage-configs API documents: {"s3_bucket_name": ["..."]}. Use the key
// NonField for problems that belong to no single field.
type FieldErrors map[string][]string

// NonField is the key for errors that belong to the request as a whole.
const NonField = "non_field_errors"

// Add records a message for a field.
func (f FieldErrors) Add(field, format string, args ...any) {
	f[field] = append(f[field], fmt.Sprintf(format, args...))
}

// Merge adds every message of other.
func (f FieldErrors) Merge(other FieldErrors) {
	for k, v := range other {
		f[k] = append(f[k], v...)
	}
}

// Err returns f as an error, or nil when it is empty.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

func (f FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString("invalid fields:")
	for _, k := range slices.Sorted(maps.Keys(f)) {
		fmt.Fprintf(&b, " %s: %s;", k, strings.Join(f[k], " "))
	}
	return b.String()
}
