package bucketverify

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// TimeFormat is how connectionStatusSince is written: RFC 3339 in UTC,
// to the second, as the API's examples show it.
const TimeFormat = "2006-01-02T15:04:05Z"

// Response is the API's answer. Success is false only with Error (a
// request that failed validation or authentication, or a server error);
// otherwise ConnectionStatus is set, with ConnectionError when it is
// error, and Files, HasInfoLabelsFile and SignedURL (and Endpoint, for
// Azure) when it is connected. Fields that do not apply are left out.
type Response struct {
	Success               bool                 `json:"success"`
	Error                 string               `json:"error,omitempty"`
	ConnectionStatus      verification.State   `json:"connectionStatus,omitempty"`
	ConnectionError       string               `json:"connectionError,omitempty"`
	ConnectionStatusSince string               `json:"connectionStatusSince,omitempty"`
	Files                 *[]verification.File `json:"files,omitempty"`
	HasInfoLabelsFile     *bool                `json:"hasInfoLabelsFile,omitempty"`
	SignedURL             string               `json:"signedUrl,omitempty"`
	// SignedURLUnavailable is additive: why a connected answer has no
	// signedUrl (a stored config whose only credential is a SAS token).
	SignedURLUnavailable string `json:"signedUrlUnavailable,omitempty"`
	Endpoint             string `json:"endpoint,omitempty"`
	// Checks is additive: each check of a finished verification, with its
	// outcome, code and message (the connect page shows a state per check).
	Checks []verification.Check `json:"checks,omitempty"`
	// CORS is additive: on a connected answer when app origins are known,
	// what a browser at each may do with the bucket (the preflights of the
	// signed URL's PUT and of a GET), and the fix.
	CORS *corscheck.Report `json:"cors,omitempty"`
}

// Failure is the answer to a request that could not be served: success
// false and the reason.
func Failure(msg string) Response { return Response{Error: msg} }

// ResponseOf renders a record as a client sees it: pass Record.View(now),
// so that a record past its deadline reads as timed out.
func ResponseOf(v verification.Record) Response {
	r := Response{
		Success:               true,
		ConnectionStatus:      v.State,
		ConnectionStatusSince: formatTime(v.StatusSince),
	}
	r.Checks = checksOf(v.Events)
	switch v.State {
	case verification.StateError:
		r.ConnectionError = v.Result.ConnectionError
		if r.ConnectionError == "" {
			r.ConnectionError = "verification failed"
		}
	case verification.StateConnected:
		files := v.Result.Files
		if files == nil {
			files = []verification.File{}
		}
		labels := v.Result.HasInfoLabelsFile
		r.Files, r.HasInfoLabelsFile = &files, &labels
		r.SignedURL, r.SignedURLUnavailable = v.Result.SignedURL, v.Result.SignedURLUnavailable
		r.CORS = v.Result.CORS
		if bv := mappingOf(v.Request.Provider); bv != nil && bv.AnswersEndpoint || v.Result.Endpoint != "" {
			r.Endpoint = v.Result.Endpoint
		}
	}
	return r
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// checksOf collects the checks of a record's history, in order.
func checksOf(events []verification.Event) []verification.Check {
	var checks []verification.Check
	for _, e := range events {
		switch e.Type {
		case verification.EventCheckSucceeded, verification.EventCheckFailed:
			checks = append(checks, verification.Check{Name: e.Check, OK: e.Type == verification.EventCheckSucceeded, Code: e.Code, Message: e.Message})
		}
	}
	return checks
}
