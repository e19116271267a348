package gcsblob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// This file is the one place where the SDK's errors (storage sentinels,
// *googleapi.Error and *apierror.APIError of the JSON API, *auth.Error of
// the token exchange, *ImpersonationError of IAM Credentials) and
// transport errors become *blob.Error values with portable codes. A refused
// impersonation is AccessDenied; the *ImpersonationError stays in the
// chain, so the check layer can tell it from a storage permission.

// wrap returns nil for nil and otherwise a *blob.Error for op around err.
func (b *Bucket) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &blob.Error{Op: op, Err: err}
	e.Code, e.TLS = classify(err)
	return e
}

// classify maps err to a portable code; isTLS is set for Unreachable
// when a TLS handshake or certificate failed. Token-exchange failures come
// first: they come wrapped in a *url.Error, which would otherwise look
// like a network failure.
func classify(err error) (code blob.Code, isTLS bool) {
	if blob.IsResponseTooLarge(err) {
		// Before the rest: a cut-off read may come wrapped like a
		// transport failure.
		return blob.ResponseTooLarge, false
	}
	var ie *ImpersonationError
	if errors.As(err, &ie) {
		if ie.ImpersonationDenied() {
			return blob.AccessDenied, false
		}
		if blob.IsResponseTooLarge(ie.Err) {
			return blob.ResponseTooLarge, false
		}
		if errors.Is(ie.Err, context.DeadlineExceeded) || errors.Is(ie.Err, context.Canceled) || blob.IsNetTimeout(ie.Err) {
			return blob.Timeout, false
		}
		// Not the storage endpoint's failure, nor the customer's: the check
		// layer reports it from the *ImpersonationError.
		return blob.Unknown, false
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		if c := classifyToken(ae); c != blob.Unknown {
			return c, false
		}
	}
	if errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) {
		return blob.NotFound, false
	}
	status, msg, reasons, isAPI := apiError(err)
	if isAPI {
		if c := classifyAPI(status, msg, reasons); c != blob.Unknown {
			return c, false
		}
	}
	switch {
	case blob.IsTLSError(err):
		return blob.Unreachable, true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || blob.IsNetTimeout(err):
		return blob.Timeout, false
	case ae == nil && !isAPI && blob.IsNetError(err):
		return blob.Unreachable, false
	}
	return blob.Unknown, false
}

// apiError reads the status, message and reasons of an error answer of
// the JSON API: a *googleapi.Error (what the HTTP client returns), or an
// *apierror.APIError (what wraps it, and what gRPC returns).
func apiError(err error) (status int, msg string, reasons []string, ok bool) {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		for _, it := range ge.Errors {
			reasons = append(reasons, it.Reason)
		}
		return ge.Code, ge.Message, reasons, true
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.HTTPCode() > 0 {
		return ae.HTTPCode(), ae.Error(), []string{ae.Reason()}, true
	}
	return 0, "", nil, false
}

// classifyAPI maps an error answer of the JSON API.
func classifyAPI(status int, msg string, reasons []string) blob.Code {
	switch status {
	case http.StatusNotFound:
		return blob.NotFound
	case http.StatusUnauthorized:
		// The token was refused: the key was deleted or the account
		// disabled after the token was issued, or it is not a valid token.
		return blob.InvalidAccessKey
	case http.StatusForbidden:
		return blob.AccessDenied
	case http.StatusBadRequest:
		for _, r := range reasons {
			if r == "invalid" && strings.Contains(strings.ToLower(msg), "bucket name") {
				return blob.InvalidBucketName
			}
		}
	}
	return blob.Unknown
}

// isInvalidRange reports the 416 answer to a range of an empty object.
func isInvalidRange(err error) bool {
	status, _, _, ok := apiError(err)
	return ok && status == http.StatusRequestedRangeNotSatisfiable
}

// tokenError is the body of an OAuth 2.0 error answer (RFC 6749 5.2).
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// classifyToken maps a refused token exchange. Google answers a JWT
// signed with a key it does not (or no longer) have with 400 invalid_grant
// "Invalid JWT Signature.", and a client_email it does not know with 400
// invalid_grant "Invalid grant: account not found"; a disabled or deleted
// account gets invalid_grant or invalid_client. A 5xx is the service's
// trouble, not the key's.
func classifyToken(ae *auth.Error) blob.Code {
	status := 0
	if ae.Response != nil {
		status = ae.Response.StatusCode
	}
	if status >= 500 || (status == 0 && len(ae.Body) == 0) {
		return blob.Unknown
	}
	var te tokenError
	_ = json.Unmarshal(ae.Body, &te) // a non-JSON body leaves te empty
	desc := strings.ToLower(te.Description)
	switch te.Error {
	case "invalid_grant":
		if strings.Contains(desc, "signature") {
			return blob.SignatureMismatch
		}
		return blob.InvalidAccessKey
	case "invalid_client", "unauthorized_client":
		return blob.InvalidAccessKey
	case "access_denied", "invalid_scope":
		return blob.AccessDenied
	}
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized:
		return blob.InvalidAccessKey
	case http.StatusForbidden:
		return blob.AccessDenied
	}
	return blob.Unknown
}

// tooLargeError is an answer the driver stopped reading at its own bound
// (maxJSONBody, maxErrorBody); over netguard's client, netguard's error
// comes first.
type tooLargeError struct {
	limit   int64
	isError bool
}

func (e *tooLargeError) Error() string {
	return "gcs: " + e.ResponseTooLarge()
}

// ResponseTooLarge implements the method blob.IsResponseTooLarge matches.
func (e *tooLargeError) ResponseTooLarge() string {
	what := "an answer"
	if e.isError {
		what = "an error answer"
	}
	if e.limit%(1<<20) == 0 {
		return fmt.Sprintf("%s larger than %d MiB", what, e.limit>>20)
	}
	return fmt.Sprintf("%s larger than %d KiB", what, e.limit>>10)
}
