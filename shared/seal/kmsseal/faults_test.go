package kmsseal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
)

// Test retry policy: fast, so outages fail in well under a second.
const (
	testAttempts       = 4
	testAttemptTimeout = 300 * time.Millisecond
)

var testOpts = []kmsseal.Option{
	kmsseal.WithRetry(testAttempts, 5*time.Millisecond, 40*time.Millisecond),
	kmsseal.WithAttemptTimeout(testAttemptTimeout),
}

// fault is what faultProxy does with one KMS request; the zero fault
// forwards it to moto.
type fault struct {
	status  int    // answer with this HTTP status ...
	errType string // ... and, if set, this KMS error type
	drop    bool   // close the connection without answering
}

var (
	throttled  = fault{status: http.StatusBadRequest, errType: "ThrottlingException"}
	internal   = fault{status: http.StatusInternalServerError, errType: "KMSInternalException"}
	bare500    = fault{status: http.StatusInternalServerError}
	bare503    = fault{status: http.StatusServiceUnavailable}
	dropped    = fault{drop: true}
	depTimeout = fault{status: http.StatusServiceUnavailable, errType: "DependencyTimeoutException"}
)

// faultProxy is a hand-written reverse proxy placed in front of the real
// moto server to inject KMS faults that moto cannot produce (throttling,
// internal errors, dropped connections, error codes only real KMS returns).
// Requests it does not fault are forwarded to moto unchanged.
type faultProxy struct {
	URL string

	mu    sync.Mutex
	calls map[string]int // KMS operation -> requests seen
	plan  func(op string, n int) fault
}

// newFaultProxy starts a proxy to m; plan says what to do with the n-th
// (from 1) request of each KMS operation ("Decrypt", "GenerateDataKey").
func newFaultProxy(t *testing.T, m *testenv.Moto, plan func(op string, n int) fault) *faultProxy {
	t.Helper()
	target, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{calls: map[string]int{}, plan: plan}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
		p.mu.Lock()
		p.calls[op]++
		f := p.plan(op, p.calls[op])
		p.mu.Unlock()
		switch {
		case f.drop:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("fault proxy: hijack: %v", err)
				return
			}
			conn.Close()
		case f.status != 0:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			if f.errType != "" {
				w.Header().Set("X-Amzn-ErrorType", f.errType)
			}
			w.WriteHeader(f.status)
			if f.errType != "" {
				fmt.Fprintf(w, `{"__type":%q,"message":"Rate exceeded"}`, f.errType)
			}
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// count returns how many requests of op the proxy has seen.
func (p *faultProxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// sealerAt returns a Sealer on keyID whose KMS client talks to endpoint.
func sealerAt(m *testenv.Moto, endpoint, keyID string) *kmsseal.Sealer {
	client := kms.NewFromConfig(m.AWSConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return kmsseal.New(client, keyID, testOpts...)
}

// sealed returns an envelope of pt made directly against moto.
func sealed(t *testing.T, s *kmsseal.Sealer, pt []byte, b seal.Binding) []byte {
	t.Helper()
	env, err := s.Seal(t.Context(), pt, b)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return env
}

// firstN fails the first n requests of every operation with f.
func firstN(n int, f fault) func(string, int) fault {
	return func(_ string, i int) fault {
		if i <= n {
			return f
		}
		return fault{}
	}
}

func TestKMSThrottlingRetried(t *testing.T) {
	direct, m := newSealer(t)
	const throttles = 2
	p := newFaultProxy(t, m, firstN(throttles, throttled))
	s := sealerAt(m, p.URL, direct.KeyID())
	b := seal.Binding{OrgID: 5, ConfigUID: "throttled"}

	env, err := s.Seal(t.Context(), []byte("pt"), b)
	if err != nil {
		t.Fatalf("Seal through %d throttles: %v", throttles, err)
	}
	got, err := s.Open(t.Context(), env, b)
	if err != nil || string(got) != "pt" {
		t.Fatalf("Open through %d throttles: %q, %v", throttles, got, err)
	}
	want := kmsseal.Stats{GenerateDataKey: throttles + 1, Decrypt: throttles + 1, Retries: 2 * throttles}
	if st := s.Stats(); st != want {
		t.Errorf("Stats() = %+v, want %+v", st, want)
	}
	for _, op := range []string{"GenerateDataKey", "Decrypt"} {
		if n := p.count(op); n != throttles+1 {
			t.Errorf("proxy saw %d %s requests, want %d: one retry policy, the Sealer's, must decide", n, op, throttles+1)
		}
	}
}

// TestKMSOutage: when KMS keeps failing, Seal and Open give up after the
// configured attempts with an error matching errcode.ErrUnavailable.
func TestKMSOutage(t *testing.T) {
	direct, m := newSealer(t)
	b := seal.Binding{OrgID: 6, ConfigUID: "outage"}
	env := sealed(t, direct, []byte("pt"), b)
	always := func(f fault) string {
		return newFaultProxy(t, m, func(string, int) fault { return f }).URL
	}

	tests := []struct {
		name     string
		endpoint string
	}{
		{"refused", testenv.RefusedEndpoint(t)},
		{"hanging", testenv.HangingServer(t)},
		{"connection dropped", always(dropped)},
		{"500 without body", always(bare500)},
		{"503 without body", always(bare503)},
		{"KMSInternalException", always(internal)},
		{"DependencyTimeoutException", always(depTimeout)},
		{"ThrottlingException", always(throttled)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sealerAt(m, tc.endpoint, direct.KeyID())
			ops := []struct {
				name string
				call func() error
			}{
				{"Seal", func() error { _, err := s.Seal(t.Context(), []byte("pt"), b); return err }},
				{"Open", func() error { _, err := s.Open(t.Context(), env, b); return err }},
			}
			for _, op := range ops {
				start := time.Now()
				err := op.call()
				elapsed := time.Since(start)
				if !errors.Is(err, errcode.ErrUnavailable) || errcode.CodeOf(err) != errcode.Unavailable {
					t.Errorf("%s: error %v does not match errcode.ErrUnavailable", op.name, err)
				}
				if errors.Is(err, seal.ErrOpen) {
					t.Errorf("%s: outage error %v matches seal.ErrOpen", op.name, err)
				}
				if limit := testAttempts*testAttemptTimeout + time.Second; elapsed > limit {
					t.Errorf("%s: gave up after %v, want under %v", op.name, elapsed, limit)
				}
			}
			want := kmsseal.Stats{GenerateDataKey: testAttempts, Decrypt: testAttempts, Retries: 2 * (testAttempts - 1)}
			if st := s.Stats(); st != want {
				t.Errorf("Stats() = %+v, want %+v", st, want)
			}
		})
	}
}

// TestKMSErrorMapping injects single KMS answers, including ones only real
// KMS gives, and checks what Seal or Open make of them.
func TestKMSErrorMapping(t *testing.T) {
	direct, m := newSealer(t)
	b := seal.Binding{OrgID: 7, ConfigUID: "mapping"}
	env := sealed(t, direct, []byte("pt"), b)

	type want int
	const (
		wantOK want = iota
		wantOpen
		wantFail // neither ErrOpen nor Unavailable: a plain 500
	)
	tests := []struct {
		name     string
		op       string
		f        fault
		want     want
		requests int
	}{
		{"Decrypt IncorrectKeyException", "Decrypt", fault{status: 400, errType: "IncorrectKeyException"}, wantOpen, 1},
		{"Decrypt InvalidCiphertextException", "Decrypt", fault{status: 400, errType: "InvalidCiphertextException"}, wantOpen, 1},
		{"Decrypt NotFoundException", "Decrypt", fault{status: 400, errType: "NotFoundException"}, wantFail, 1},
		{"Decrypt DisabledException", "Decrypt", fault{status: 400, errType: "DisabledException"}, wantFail, 1},
		{"Decrypt KMSInternalException once", "Decrypt", internal, wantOK, 2},
		{"Decrypt dropped once", "Decrypt", dropped, wantOK, 2},
		{"GenerateDataKey AccessDeniedException", "GenerateDataKey", fault{status: 400, errType: "AccessDeniedException"}, wantFail, 1},
		{"GenerateDataKey KMSInvalidStateException", "GenerateDataKey", fault{status: 400, errType: "KMSInvalidStateException"}, wantFail, 1},
		{"GenerateDataKey DependencyTimeoutException once", "GenerateDataKey", depTimeout, wantOK, 2},
		{"GenerateDataKey 503 once", "GenerateDataKey", bare503, wantOK, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newFaultProxy(t, m, func(op string, n int) fault {
				if op == tc.op && n == 1 {
					return tc.f
				}
				return fault{}
			})
			s := sealerAt(m, p.URL, direct.KeyID())
			var err error
			if tc.op == "Decrypt" {
				_, err = s.Open(t.Context(), env, b)
			} else {
				_, err = s.Seal(t.Context(), []byte("pt"), b)
			}
			switch tc.want {
			case wantOK:
				if err != nil {
					t.Fatalf("error %v, want success after a retry", err)
				}
			case wantOpen:
				if !errors.Is(err, seal.ErrOpen) {
					t.Fatalf("error %v, want seal.ErrOpen", err)
				}
			case wantFail:
				if err == nil || errors.Is(err, seal.ErrOpen) || errors.Is(err, errcode.ErrUnavailable) {
					t.Fatalf("error %v, want a failure that is neither seal.ErrOpen nor unavailable", err)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tc.f.errType) {
				t.Errorf("error %q does not name the KMS error %s for the log", err, tc.f.errType)
			}
			if n := p.count(tc.op); n != tc.requests {
				t.Errorf("proxy saw %d %s requests, want %d", n, tc.op, tc.requests)
			}
		})
	}
}

// TestKMSContextEnds: the caller's ctx bounds the retries. Cancelling gives
// context.Canceled; a deadline that runs out while KMS fails also matches
// errcode.ErrUnavailable.
func TestKMSContextEnds(t *testing.T) {
	direct, m := newSealer(t)
	b := seal.Binding{OrgID: 8, ConfigUID: "ctx"}
	env := sealed(t, direct, []byte("pt"), b)
	client := kms.NewFromConfig(m.AWSConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(testenv.HangingServer(t)) })
	// Long attempts and many of them: only ctx can end these calls soon.
	s := kmsseal.New(client, direct.KeyID(), kmsseal.WithRetry(100, 10*time.Millisecond, 50*time.Millisecond), kmsseal.WithAttemptTimeout(20*time.Millisecond))

	tests := []struct {
		name        string
		ctx         func() (context.Context, context.CancelFunc)
		want        error
		unavailable bool
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(150*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, false},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 150*time.Millisecond)
		}, context.DeadlineExceeded, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []string{"Seal", "Open"} {
				ctx, cancel := tc.ctx()
				start := time.Now()
				var err error
				if op == "Seal" {
					_, err = s.Seal(ctx, []byte("pt"), b)
				} else {
					_, err = s.Open(ctx, env, b)
				}
				cancel()
				if elapsed := time.Since(start); elapsed > 2*time.Second {
					t.Errorf("%s took %v after its ctx ended at 150ms", op, elapsed)
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("%s: error %v does not match %v", op, err, tc.want)
				}
				if got := errors.Is(err, errcode.ErrUnavailable); got != tc.unavailable {
					t.Errorf("%s: errors.Is(%v, ErrUnavailable) = %v, want %v", op, err, got, tc.unavailable)
				}
				if errors.Is(err, seal.ErrOpen) {
					t.Errorf("%s: error %v matches seal.ErrOpen", op, err)
				}
			}
		})
	}
}
