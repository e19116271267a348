// Package lambdatest is test scaffolding, not production code: a small
// in-process implementation of the AWS Lambda Runtime API (version
// 2018-06-01), and helpers that build a function's bootstrap the way
// `sam build` does and run it as a child process against that API. Tests
// use it to check what `sam local invoke` would check, without Docker:
// the real binary, its init from the environment, the real
// aws-lambda-go runtime loop and the API Gateway adapter.
//
// Only the parts of the Runtime API that a function uses are served:
//
//	GET  /2018-06-01/runtime/invocation/next            the next event
//	POST /2018-06-01/runtime/invocation/{id}/response   its result
//	POST /2018-06-01/runtime/invocation/{id}/error      its failure
//	POST /2018-06-01/runtime/init/error                 a failed init
//
// As in Lambda, one execution environment runs one invocation at a time;
// start several Functions for concurrency.
package lambdatest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runtime API headers and limits, as documented by AWS.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderErrorType          = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody         = "Lambda-Runtime-Function-Error-Body"

	// MaxResponseBytes is the largest synchronous response Lambda accepts.
	MaxResponseBytes = 6 << 20
)

// ErrClosed is returned by Invoke once the Runtime is closed.
var ErrClosed = errors.New("lambdatest: runtime closed")

// FunctionError is what a function posted to .../error or /init/error.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// Error names the error's type and message.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambdatest: function error %s: %s", e.Type, e.Message)
}

// Response is the outcome of one invocation: either Payload (the function
// posted a response) or Err (it posted an error).
type Response struct {
	RequestID string
	Payload   []byte
	Err       *FunctionError
}

// Runtime is a Lambda Runtime API server on 127.0.0.1. Point a function at
// it with AWS_LAMBDA_RUNTIME_API=Addr().
type Runtime struct {
	// Timeout is the function timeout: each invocation's deadline is its
	// hand-over time plus Timeout. Set it before the first Invoke.
	Timeout time.Duration
	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string

	srv    *httptest.Server
	queue  chan *invocation
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex
	inflight  map[string]*invocation
	firstNext time.Time
	nextSeen  chan struct{} // closed on the first GET next
	initErr   *FunctionError
	initSeen  chan struct{} // closed on the first init error
}

type invocation struct {
	id      string
	payload []byte
	done    chan struct{}
	res     Response
}

// NewRuntime starts a Runtime API server. Close it when done.
func NewRuntime() *Runtime {
	r := &Runtime{
		Timeout:     30 * time.Second,
		FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:lambdatest",
		queue:       make(chan *invocation),
		closed:      make(chan struct{}),
		inflight:    map[string]*invocation{},
		nextSeen:    make(chan struct{}),
		initSeen:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", r.initError)
	r.srv = httptest.NewServer(mux)
	return r
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.srv.Listener.Addr().String() }

// Close stops the server; a blocked GET next and pending Invokes return.
func (r *Runtime) Close() {
	r.once.Do(func() { close(r.closed) })
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// NextSeen is closed when the function first asks for an invocation: the
// end of its init.
func (r *Runtime) NextSeen() <-chan struct{} { return r.nextSeen }

// FirstNext returns when the first GET next arrived (zero before).
func (r *Runtime) FirstNext() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstNext
}

// InitError returns what the function posted to /runtime/init/error, if
// anything.
func (r *Runtime) InitError() (*FunctionError, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initErr, r.initErr != nil
}

// InitErrorSeen is closed when the function reports an init error.
func (r *Runtime) InitErrorSeen() <-chan struct{} { return r.initSeen }

// Invoke hands payload to the function's next GET next and waits for its
// response or error, until ctx ends.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) (*Response, error) {
	inv := &invocation{id: newRequestID(), payload: payload, done: make(chan struct{})}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inflight, inv.id)
		r.mu.Unlock()
	}()
	select {
	case r.queue <- inv:
	case <-ctx.Done():
		return nil, fmt.Errorf("lambdatest: invoke: waiting for the function to ask for it: %w", ctx.Err())
	case <-r.closed:
		return nil, ErrClosed
	}
	select {
	case <-inv.done:
		res := inv.res
		return &res, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("lambdatest: invoke %s: waiting for its result: %w", inv.id, ctx.Err())
	case <-r.closed:
		return nil, ErrClosed
	}
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstNext.IsZero() {
		r.firstNext = time.Now()
		close(r.nextSeen)
	}
	r.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-req.Context().Done():
		return
	case <-r.closed:
		http.Error(w, "runtime closed", http.StatusGone)
		return
	}
	deadline := time.Now().Add(r.Timeout)
	h := w.Header()
	h.Set(HeaderRequestID, inv.id)
	h.Set(HeaderDeadlineMs, strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set(HeaderInvokedFunctionARN, r.FunctionARN)
	h.Set(HeaderTraceID, "Root=1-00000000-"+strings.ReplaceAll(inv.id, "-", "")[:24]+";Sampled=0")
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.payload)
}

// take returns the in-flight invocation id, or answers 400 as Lambda does
// for an unknown or already finished request id.
func (r *Runtime) take(w http.ResponseWriter, id string) (*invocation, bool) {
	r.mu.Lock()
	inv, ok := r.inflight[id]
	if ok {
		delete(r.inflight, id)
	}
	r.mu.Unlock()
	if !ok {
		writeStatus(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request id")
	}
	return inv, ok
}

func (r *Runtime) response(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxResponseBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response larger than 6 MB")
		return
	}
	inv, ok := r.take(w, req.PathValue("id"))
	if !ok {
		return
	}
	switch {
	case err != nil:
		inv.res = Response{RequestID: inv.id, Err: &FunctionError{Type: "Runtime.ResponseReadError", Message: err.Error()}}
	case req.Trailer.Get(HeaderErrorType) != "":
		// aws-lambda-go reports a failure while streaming the response in
		// trailers.
		inv.res = Response{RequestID: inv.id, Err: trailerError(req.Trailer)}
	default:
		inv.res = Response{RequestID: inv.id, Payload: body}
	}
	close(inv.done)
	writeStatus(w, http.StatusAccepted, "", "")
}

func (r *Runtime) invocationError(w http.ResponseWriter, req *http.Request) {
	fe, ok := readFunctionError(w, req)
	if !ok {
		return
	}
	inv, ok := r.take(w, req.PathValue("id"))
	if !ok {
		return
	}
	inv.res = Response{RequestID: inv.id, Err: fe}
	close(inv.done)
	writeStatus(w, http.StatusAccepted, "", "")
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	fe, ok := readFunctionError(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	if r.initErr == nil {
		r.initErr = fe
		close(r.initSeen)
	}
	r.mu.Unlock()
	writeStatus(w, http.StatusAccepted, "", "")
}

// readFunctionError decodes an error body; the type header wins over the
// body's errorType, as in Lambda.
func readFunctionError(w http.ResponseWriter, req *http.Request) (*FunctionError, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxResponseBytes))
	if err != nil {
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "error body too large")
		return nil, false
	}
	fe := &FunctionError{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, fe); err != nil {
			fe.Message = string(body)
		}
	}
	if t := req.Header.Get(HeaderErrorType); t != "" {
		fe.Type = t
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe, true
}

func trailerError(t http.Header) *FunctionError {
	fe := &FunctionError{Type: t.Get(HeaderErrorType)}
	if b, err := base64.StdEncoding.DecodeString(t.Get(trailerErrorBody)); err == nil {
		_ = json.Unmarshal(b, fe)
	}
	fe.Type = t.Get(HeaderErrorType)
	return fe
}

func writeStatus(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if errType == "" {
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(FunctionError{Type: errType, Message: msg})
}

// newRequestID returns a random id in the shape of Lambda's (a UUID).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
