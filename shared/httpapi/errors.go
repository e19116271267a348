package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// The documented bodies of the storage-configs API.
const (
	detailUnauthenticated = "Invalid API key."
	detailForbidden       = "You do not have permission to perform this action."
	detailNotFound        = "Not found."
	detailServerError     = "A server error occurred."
	detailUnavailable     = "A service this request depends on is temporarily unavailable. Retry in a few seconds."
)

// statusOf is the one table from an error code to an HTTP status.
var statusOf = map[errcode.Code]int{
	errcode.NotFound:         http.StatusNotFound,
	errcode.AlreadyExists:    http.StatusConflict,
	errcode.Conflict:         http.StatusConflict,
	errcode.InvalidArgument:  http.StatusBadRequest,
	errcode.Unauthenticated:  http.StatusUnauthorized,
	errcode.PermissionDenied: http.StatusForbidden,
	errcode.Unavailable:      http.StatusServiceUnavailable,
	errcode.TooLarge:         http.StatusRequestEntityTooLarge,
	errcode.Unknown:          http.StatusInternalServerError,
}

// detailOf gives the fixed body for codes whose body never varies.
var detailOf = map[errcode.Code]string{
	errcode.NotFound:         detailNotFound,
	errcode.Unauthenticated:  detailUnauthenticated,
	errcode.PermissionDenied: detailForbidden,
	errcode.Unavailable:      detailUnavailable,
	errcode.Unknown:          detailServerError,
}

// writeJSON writes v with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError renders err in the documented shape: field errors as a map of
// field to messages, fixed {"detail": ...} bodies for auth, not-found and
// server errors. A 5xx body is generic and carries the request ID; the cause
// goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := errcode.CodeOf(err)
	status := statusOf[code]
	var fe errcode.FieldErrors
	switch {
	case errors.As(err, &fe):
		writeJSON(w, status, fe)
		return
	case status >= 500:
		id := requestID(r.Context())
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("code", code.String()), slog.String("error", err.Error()))
		if code == errcode.Unavailable {
			w.Header().Set("Retry-After", strconv.Itoa(5))
		}
		writeJSON(w, status, map[string]string{"detail": detailOf[code], "request_id": id})
		return
	}
	detail, fixed := detailOf[code]
	if fixed {
		detail = deniedDetail(err, detail) // a connect session's own words
	} else {
		var e *errcode.Error
		errors.As(err, &e)
		detail = e.Msg
	}
	writeJSON(w, status, map[string]string{"detail": detail})
}

func fieldError(field, msg string) error {
	return errcode.FieldErrors{field: {msg}}
}
