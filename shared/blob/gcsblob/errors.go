package gcsblob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// This file is the one place where JSON API, OAuth and transport errors
// become *blob.Error values with portable codes.

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
// first: they may come wrapped in a *url.Error, which would otherwise look
// like a network failure.
func classify(err error) (code blob.Code, isTLS bool) {
	if blob.IsResponseTooLarge(err) {
		// Before the rest: a cut-off read may come wrapped like a
		// transport failure.
		return blob.ResponseTooLarge, false
	}
	var ae *oauth2.RetrieveError
	if errors.As(err, &ae) {
		if c := classifyToken(ae); c != blob.Unknown {
			return c, false
		}
	}
	var ge *apiError
	if errors.As(err, &ge) {
		if c := classifyAPI(ge); c != blob.Unknown {
			return c, false
		}
	}
	switch {
	case blob.IsTLSError(err):
		return blob.Unreachable, true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || blob.IsNetTimeout(err):
		return blob.Timeout, false
	case ae == nil && ge == nil && blob.IsNetError(err):
		return blob.Unreachable, false
	}
	return blob.Unknown, false
}

// classifyAPI maps an error answer of the JSON API.
func classifyAPI(ge *apiError) blob.Code {
	switch ge.Code {
	case http.StatusNotFound:
		return blob.NotFound
	case http.StatusUnauthorized:
		// The token was refused: the key was deleted or the account
		// disabled after the token was issued, or it is not a valid token.
		return blob.InvalidAccessKey
	case http.StatusForbidden:
		return blob.AccessDenied
	case http.StatusBadRequest:
		if hasReason(ge, "invalid") && strings.Contains(strings.ToLower(ge.Message), "bucket name") {
			return blob.InvalidBucketName
		}
	}
	return blob.Unknown
}

// isInvalidRange reports the 416 answer to a range of an empty object.
func isInvalidRange(err error) bool {
	var ge *apiError
	return errors.As(err, &ge) && ge.Code == http.StatusRequestedRangeNotSatisfiable
}

func hasReason(ge *apiError, reason string) bool {
	for _, it := range ge.Errors {
		if it.Reason == reason {
			return true
		}
	}
	return false
}

// classifyToken maps a refused token exchange. Google answers a JWT
// signed with a key it does not (or no longer) have with 400 invalid_grant
// "Invalid JWT Signature.", and a client_email it does not know with 400
// invalid_grant "Invalid grant: account not found"; a disabled or deleted
// account gets invalid_grant or invalid_client. A 5xx is the service's
// trouble, not the key's.
func classifyToken(ae *oauth2.RetrieveError) blob.Code {
	status := 0
	if ae.Response != nil {
		status = ae.Response.StatusCode
	}
	if status >= 500 {
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
