package gcsblob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// maxJSONBody bounds how much of an answer body is read, and maxErrorBody
// how much of an error answer: past them, the read fails with a
// *tooLargeError (code blob.ResponseTooLarge). They are netguard's limits
// (MaxBodyBytes, MaxErrorBodyBytes; see there why), kept here too so that
// the driver is bounded over any client.
const (
	maxJSONBody  = 2 << 20
	maxErrorBody = 64 << 10
)

// Backoff between tries: a random pause up to a ceiling that starts at
// initialBackoff and doubles up to maxBackoff.
const (
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = time.Second
)

// request is one JSON API request, rebuilt for every try.
type request struct {
	method string
	url    string
	body   []byte // nil for none
	header http.Header
}

// call sends r up to attempts times, pausing between tries, while the
// answer is 429 or 5xx (of the storage API or the token endpoint). It
// returns a 2xx answer, whose body the caller must close, or an error:
// *apiError for an error answer, *oauth2.RetrieveError for a refused token
// exchange, or the client's transport error.
func (b *Bucket) call(ctx context.Context, attempts int, r request) (*http.Response, error) {
	ceiling := initialBackoff
	for try := 1; ; try++ {
		resp, err := b.send(ctx, r)
		if err == nil || try >= attempts || !retryable(err) {
			return resp, err
		}
		pause := time.Duration(1 + rand.Int64N(int64(ceiling)))
		ceiling = min(2*ceiling, maxBackoff)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= pause {
			return nil, err // no time left for another try
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// send makes one try of r, with an access token unless the Bucket is
// unauthenticated.
func (b *Bucket) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body == nil && (r.method == http.MethodPost || r.method == http.MethodPut) {
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	if b.tokens != nil {
		tok, err := b.tokens.token(ctx)
		if err != nil {
			return nil, fmt.Errorf("get access token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp)
}

// retryable reports an answer worth another try: 429 or 5xx, from the
// storage API or the token endpoint.
func retryable(err error) bool {
	status := 0
	var (
		ae *apiError
		re *oauth2.RetrieveError
	)
	switch {
	case errors.As(err, &ae):
		status = ae.Code
	case errors.As(err, &re) && re.Response != nil:
		status = re.Response.StatusCode
	}
	return status == http.StatusTooManyRequests || status >= 500
}

// apiError is an error answer of the JSON API (or, for a body that is not
// the API's JSON error, its status and the start of its text).
type apiError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Errors  []apiErrorItem `json:"errors"`
}

// apiErrorItem is one entry of an error answer's "errors" list.
type apiErrorItem struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("gcs: HTTP %d", e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	var reasons []string
	for _, it := range e.Errors {
		if it.Reason != "" {
			reasons = append(reasons, it.Reason)
		}
	}
	if len(reasons) > 0 {
		s += " (" + strings.Join(reasons, ", ") + ")"
	}
	return s
}

// readAPIError builds the *apiError of a non-2xx answer, or returns the
// error of an answer too large to be one.
func readAPIError(resp *http.Response) error {
	body, err := readLimited(resp.Body, maxErrorBody, true)
	if blob.IsResponseTooLarge(err) {
		return err
	}
	// Another read error leaves what was read, which says enough.
	var env struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e := env.Error
		e.Code = resp.StatusCode
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &apiError{Code: resp.StatusCode, Message: msg}
}

// readLimited reads r to its end, or fails with a *tooLargeError once it
// has more than limit bytes (or with the client's own error for that,
// netguard's, when it comes first).
func readLimited(r io.Reader, limit int64, isError bool) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(body)) > limit {
		return body[:limit], &tooLargeError{limit: limit, isError: isError}
	}
	return body, err
}

// withCtx adds ctx's error to err when ctx is done, so that a body read
// cut off by the deadline is classified as a timeout.
func withCtx(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// escape percent-encodes s as one URL path segment: every byte but the
// unreserved characters of RFC 3986, so "/" and "+" in object names stay
// literal.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
	return sb.String()
}
