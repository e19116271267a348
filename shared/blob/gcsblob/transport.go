package gcsblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// maxJSONBody bounds how much of an answer body is read, and maxErrorBody
// how much of an error answer: past them, the read fails with a
// *tooLargeError (code blob.ResponseTooLarge). They are netguard's limits
// (MaxBodyBytes, MaxErrorBodyBytes; see there why), kept here too so that
// the driver is bounded over any client; over netguard's client,
// netguard's error comes first.
const (
	maxJSONBody  = 2 << 20
	maxErrorBody = 64 << 10
)

// errBudgetSpent fails a request past the budget of withRequestBudget.
var errBudgetSpent = errors.New("gcsblob: request budget of the call spent")

// budgetKey is the context key of withRequestBudget.
type budgetKey struct{}

// withRequestBudget returns a copy of ctx under which at most n storage
// requests are sent (tries included); past it a request fails with
// errBudgetSpent, which the SDK does not retry.
func withRequestBudget(ctx context.Context, n int) context.Context {
	left := new(atomic.Int64)
	left.Store(int64(n))
	return context.WithValue(ctx, budgetKey{}, left)
}

// boundedTransport is the transport under the SDK's storage requests (the
// token exchanges do not go through it). It keeps the request budget, and
// reads every error answer whole, under maxErrorBody, before the SDK
// sees it: googleapi.CheckResponse drops the error of reading an error
// body, so an error answer cut off at netguard's limit would otherwise
// read as an ordinary (and, for a 5xx, retried) error answer instead of
// response_too_large. The RoundTrip error for it wraps the
// *netguard.TooLargeError (or a *tooLargeError), which the SDK does not
// retry. 2xx bodies are bounded at maxJSONBody.
type boundedTransport struct {
	base http.RoundTripper
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if left, ok := req.Context().Value(budgetKey{}).(*atomic.Int64); ok && left.Add(-1) < 0 {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errBudgetSpent
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		resp.Body = &boundedBody{rc: resp.Body, left: maxJSONBody}
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	resp.Body.Close()
	if err == nil && int64(len(body)) > maxErrorBody {
		err = &tooLargeError{limit: maxErrorBody, isError: true}
	}
	if err != nil && blob.IsResponseTooLarge(err) {
		return nil, err
	}
	// Another read error leaves what was read, which says enough.
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// CloseIdleConnections passes on to the base transport.
func (t *boundedTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// boundedBody fails with a *tooLargeError once more than left bytes have
// been read.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &tooLargeError{limit: maxJSONBody}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), &tooLargeError{limit: maxJSONBody}
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
