package testenv

import (
	"net/http"
	"sync"
)

// OpRecorder is an http.RoundTripper that records the X-Amz-Target header
// of every request it passes to Next: the operation of an AWS JSON-protocol
// call (DynamoDB_20120810.GetItem, ...), so that a test can assert which
// calls a code path makes, against the real server behind it.
type OpRecorder struct {
	Next http.RoundTripper
	mu   sync.Mutex
	ops  []string
}

// RoundTrip records the request's operation and sends it on.
func (r *OpRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.ops = append(r.ops, req.Header.Get("X-Amz-Target"))
	r.mu.Unlock()
	return r.Next.RoundTrip(req)
}

// Take returns the operations recorded since the last Take and forgets them.
func (r *OpRecorder) Take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := r.ops
	r.ops = nil
	return ops
}
