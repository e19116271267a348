// Package sealtest is the conformance suite every seal.Sealer passes. An
// implementation's test is one call:
//
//	func TestConformance(t *testing.T) {
//		sealtest.Run(t, sealtest.Harness{
//			New:    func(t *testing.T) seal.Sealer { ... fresh key ... },
//			Reopen: func(t *testing.T, s seal.Sealer) seal.Sealer { ... same key ... },
//		})
//	}
//
// The suite checks the contract written in package seal: round trips,
// fresh randomness per Seal, binding enforcement, tamper and truncation
// resistance (always seal.ErrOpen, never a panic), that the plaintext never
// shows in the envelope, safety under concurrent use, context cancellation,
// key separation between independent sealers and that a restarted sealer
// over the same key still opens old envelopes.
package sealtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bucketlink/bucketlink/shared/seal"
)

// Harness builds the Sealers the suite runs against. Both fields are
// required.
type Harness struct {
	// New returns a Sealer over a fresh master key that is independent of
	// every key returned by earlier calls: the suite calls New more than once
	// and expects one sealer not to open another's envelopes. Register any
	// cleanup with t.Cleanup.
	New func(t *testing.T) seal.Sealer

	// Reopen returns a new, separately constructed Sealer over the same
	// master key as s, as a process restart would (for localseal: Open on the
	// same key file; for KMS: a new client on the same key). s was returned
	// by New in the same test.
	Reopen func(t *testing.T, s seal.Sealer) seal.Sealer
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Reopen == nil {
		t.Fatal("sealtest: Harness.New and Harness.Reopen are both required")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"InputsNotRetained", testInputsNotRetained},
		{"SealIsRandomized", testSealIsRandomized},
		{"WrongBinding", testWrongBinding},
		{"Splice", testSplice},
		{"Tamper", testTamper},
		{"Truncated", testTruncated},
		{"Garbage", testGarbage},
		{"PlaintextNotInEnvelope", testPlaintextNotInEnvelope},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
		{"OtherKey", testOtherKey},
		{"Reopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var (
	bindA = seal.Binding{OrgID: 1, ConfigUID: "cfg-a"}
	bindB = seal.Binding{OrgID: 1, ConfigUID: "cfg-b"}
	bindC = seal.Binding{OrgID: 2, ConfigUID: "cfg-a"}
)

// secret returns a credential-shaped plaintext with n random hex bytes, made
// at run time so no fixture holds a secret.
func secret(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return []byte(hex.EncodeToString(b)[:n])
}

func mustSeal(t *testing.T, s seal.Sealer, pt []byte, b seal.Binding) []byte {
	t.Helper()
	env, err := s.Seal(context.Background(), pt, b)
	if err != nil {
		t.Fatalf("Seal(%d bytes, %+v): %v", len(pt), b, err)
	}
	return env
}

func mustOpen(t *testing.T, s seal.Sealer, env []byte, b seal.Binding, want []byte) {
	t.Helper()
	got, err := s.Open(context.Background(), env, b)
	if err != nil {
		t.Fatalf("Open(%+v): %v", b, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open(%+v) returned %d bytes that differ from the %d sealed", b, len(got), len(want))
	}
}

// openFails opens env under b and fails the test unless the result is an
// error matching seal.ErrOpen. A panic is reported as a failure, not a
// crash, naming what was being opened.
func openFails(t *testing.T, s seal.Sealer, env []byte, b seal.Binding, what string) {
	t.Helper()
	var (
		got []byte
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: Open panicked: %v", what, r)
				err = seal.ErrOpen
			}
		}()
		got, err = s.Open(context.Background(), env, b)
	}()
	switch {
	case err == nil:
		t.Errorf("%s: Open succeeded (%d bytes), want an error matching seal.ErrOpen", what, len(got))
	case !errors.Is(err, seal.ErrOpen):
		t.Errorf("%s: Open error %q does not match seal.ErrOpen", what, err)
	case got != nil:
		t.Errorf("%s: Open returned %d bytes alongside its error", what, len(got))
	}
}

// positions returns the byte positions of an n-byte envelope to probe: all
// of them up to limit, else the first and last 64 and an even sample between.
func positions(n, limit int) []int {
	if n <= limit {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for i := range 64 {
		out = append(out, i, n-1-i)
	}
	step := (n - 128) / (limit - 128)
	for i := 64; i < n-64; i += step {
		out = append(out, i)
	}
	return out
}

func testRoundTrip(t *testing.T, h Harness) {
	s := h.New(t)
	tests := []struct {
		name string
		pt   []byte
	}{
		{"empty", []byte{}},
		{"nil", nil},
		{"one byte", []byte{0}},
		{"small", secret(t, 40)},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe, 0, 0}},
		{"64KiB", secret(t, 64<<10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := mustSeal(t, s, tc.pt, bindA)
			if len(env) == 0 {
				t.Fatal("Seal returned an empty envelope")
			}
			mustOpen(t, s, env, bindA, tc.pt)
			// Opening twice works: Open does not consume the envelope.
			mustOpen(t, s, env, bindA, tc.pt)
		})
	}
}

func testInputsNotRetained(t *testing.T, h Harness) {
	s := h.New(t)
	pt := secret(t, 48)
	orig := bytes.Clone(pt)
	env := mustSeal(t, s, pt, bindA)
	if !bytes.Equal(pt, orig) {
		t.Fatal("Seal modified its plaintext argument")
	}
	envCopy := bytes.Clone(env)
	got, err := s.Open(context.Background(), env, bindA)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(env, envCopy) {
		t.Fatal("Open modified its envelope argument")
	}
	// Scribbling on the returned plaintext or the sealed input must not
	// affect the envelope.
	clear(got)
	clear(pt)
	mustOpen(t, s, env, bindA, orig)
}

func testSealIsRandomized(t *testing.T, h Harness) {
	s := h.New(t)
	for _, pt := range [][]byte{{}, secret(t, 40)} {
		e1 := mustSeal(t, s, pt, bindA)
		e2 := mustSeal(t, s, pt, bindA)
		if bytes.Equal(e1, e2) {
			t.Fatalf("two Seals of the same %d-byte plaintext gave identical envelopes", len(pt))
		}
		mustOpen(t, s, e1, bindA, pt)
		mustOpen(t, s, e2, bindA, pt)
	}

	// Keystream reuse (same data key and nonce) shows as c1^c2 == p1^p2 at
	// the ciphertext's offset, wherever the format puts it.
	p1, p2 := secret(t, 64), secret(t, 64)
	e1, e2 := mustSeal(t, s, p1, bindA), mustSeal(t, s, p2, bindA)
	want := make([]byte, len(p1))
	for i := range want {
		want[i] = p1[i] ^ p2[i]
	}
	x := make([]byte, len(p1))
	for off := 0; off+len(x) <= min(len(e1), len(e2)); off++ {
		for i := range x {
			x[i] = e1[off+i] ^ e2[off+i]
		}
		if bytes.Equal(x, want) {
			t.Fatalf("two Seals reuse a keystream at envelope offset %d: data key and nonce must be fresh per Seal", off)
		}
	}
}

func testWrongBinding(t *testing.T, h Harness) {
	s := h.New(t)
	pt := secret(t, 40)
	env := mustSeal(t, s, pt, bindA)
	tests := []struct {
		name string
		b    seal.Binding
	}{
		{"other config", bindB},
		{"other org", bindC},
		{"zero binding", seal.Binding{}},
		{"config uid prefix", seal.Binding{OrgID: bindA.OrgID, ConfigUID: bindA.ConfigUID[:len(bindA.ConfigUID)-1]}},
		{"config uid extended", seal.Binding{OrgID: bindA.OrgID, ConfigUID: bindA.ConfigUID + "x"}},
		{"negative org", seal.Binding{OrgID: -bindA.OrgID, ConfigUID: bindA.ConfigUID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			openFails(t, s, env, tc.b, tc.name)
		})
	}
	mustOpen(t, s, env, bindA, pt)
}

// testSplice copies parts of one config's envelope onto another's: a
// ciphertext copied onto another config does not open, whatever the format.
func testSplice(t *testing.T, h Harness) {
	s := h.New(t)
	pt := secret(t, 40)
	for _, other := range []seal.Binding{bindB, bindC} {
		t.Run(fmt.Sprintf("org=%d,config=%s", other.OrgID, other.ConfigUID), func(t *testing.T) {
			a := mustSeal(t, s, pt, bindA)
			b := mustSeal(t, s, pt, other)
			if len(a) != len(b) {
				t.Logf("envelopes differ in length (%d, %d); splicing the common part", len(a), len(b))
			}
			n := min(len(a), len(b))
			for _, k := range positions(n, 512) {
				// The head of other's envelope (its header, wrapped key, ...)
				// with the tail of A's: must open under neither binding
				// unless it happens to equal one envelope byte for byte.
				mixed := append(bytes.Clone(b[:k]), a[k:]...)
				if !bytes.Equal(mixed, b) {
					openFails(t, s, mixed, other, fmt.Sprintf("head %d bytes of %+v's envelope + tail of %+v's, opened as %+v", k, other, bindA, other))
				}
				if !bytes.Equal(mixed, a) {
					openFails(t, s, mixed, bindA, fmt.Sprintf("head %d bytes of %+v's envelope + tail of %+v's, opened as %+v", k, other, bindA, bindA))
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

func testTamper(t *testing.T, h Harness) {
	s := h.New(t)
	for _, size := range []int{0, 40, 4 << 10} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			pt := secret(t, size)
			env := mustSeal(t, s, pt, bindA)
			for _, i := range positions(len(env), 512) {
				// One bit, a different one at each position.
				bad := bytes.Clone(env)
				bad[i] ^= 1 << (i % 8)
				openFails(t, s, bad, bindA, fmt.Sprintf("byte %d of %d, bit %d flipped", i, len(env), i%8))
				if t.Failed() {
					return
				}
			}
			for _, extra := range [][]byte{{0}, {1}, bytes.Repeat([]byte{0}, 16), env} {
				openFails(t, s, append(bytes.Clone(env), extra...), bindA, fmt.Sprintf("%d bytes appended", len(extra)))
			}
			mustOpen(t, s, env, bindA, pt)
		})
	}
}

func testTruncated(t *testing.T, h Harness) {
	s := h.New(t)
	pt := secret(t, 40)
	env := mustSeal(t, s, pt, bindA)
	openFails(t, s, nil, bindA, "nil envelope")
	openFails(t, s, []byte{}, bindA, "empty envelope")
	for _, n := range positions(len(env), 512) {
		openFails(t, s, bytes.Clone(env[:n]), bindA, fmt.Sprintf("first %d of %d bytes", n, len(env)))
		if n > 0 {
			openFails(t, s, bytes.Clone(env[n:]), bindA, fmt.Sprintf("last %d of %d bytes", len(env)-n, len(env)))
		}
	}
}

func testGarbage(t *testing.T, h Harness) {
	s := h.New(t)
	env := mustSeal(t, s, secret(t, 40), bindA)
	random := make([]byte, len(env))
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []byte
	}{
		{"zeros", make([]byte, len(env))},
		{"ones", bytes.Repeat([]byte{0xff}, len(env))},
		{"random", random},
		{"version byte only", env[:1]},
		{"plain text", []byte("not an envelope")},
		{"large", bytes.Repeat([]byte{1}, 1<<20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			openFails(t, s, tc.env, bindA, tc.name)
		})
	}
}

func testPlaintextNotInEnvelope(t *testing.T, h Harness) {
	s := h.New(t)
	for _, size := range []int{16, 40, 4 << 10} {
		pt := secret(t, size)
		env := mustSeal(t, s, pt, bindA)
		// No 12-byte window of the (hex, so printable) plaintext may appear:
		// a match by chance has probability around 2^-60.
		const w = 12
		for i := 0; i+w <= len(pt); i++ {
			if bytes.Contains(env, pt[i:i+w]) {
				t.Fatalf("plaintext bytes [%d:%d] of %d appear in the envelope", i, i+w, len(pt))
			}
		}
		if len(env) < len(pt) {
			t.Fatalf("envelope (%d bytes) shorter than the %d-byte plaintext", len(env), len(pt))
		}
	}
}

func testConcurrent(t *testing.T, h Harness) {
	s := h.New(t)
	const workers, rounds = 8, 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	shared := secret(t, 40)
	sharedEnv := mustSeal(t, s, shared, bindA)
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			b := seal.Binding{OrgID: int64(w + 10), ConfigUID: fmt.Sprintf("cfg-%d", w)}
			for r := range rounds {
				pt := []byte(fmt.Sprintf("worker %d round %d", w, r))
				env, err := s.Seal(ctx, pt, b)
				if err != nil {
					errs <- fmt.Errorf("worker %d: Seal: %w", w, err)
					return
				}
				got, err := s.Open(ctx, env, b)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("worker %d: Open: got %q, %v", w, got, err)
					return
				}
				if _, err := s.Open(ctx, env, bindA); !errors.Is(err, seal.ErrOpen) {
					errs <- fmt.Errorf("worker %d: Open with the wrong binding: %v, want seal.ErrOpen", w, err)
					return
				}
				got, err = s.Open(ctx, sharedEnv, bindA)
				if err != nil || !bytes.Equal(got, shared) {
					errs <- fmt.Errorf("worker %d: Open of the shared envelope: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testCancelledContext: a sealer may honour a cancelled context (an error
// matching context.Canceled, never seal.ErrOpen, which would claim the
// envelope is bad) or ignore it and succeed; either way it keeps working.
func testCancelledContext(t *testing.T, h Harness) {
	s := h.New(t)
	pt := secret(t, 40)
	env := mustSeal(t, s, pt, bindA)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	got, err := s.Seal(ctx, pt, bindA)
	switch {
	case err != nil && errors.Is(err, seal.ErrOpen):
		t.Errorf("Seal with a cancelled ctx: %v matches seal.ErrOpen", err)
	case err != nil && !errors.Is(err, context.Canceled):
		t.Errorf("Seal with a cancelled ctx: error %q does not match context.Canceled", err)
	case err == nil:
		mustOpen(t, s, got, bindA, pt)
	}

	got, err = s.Open(ctx, env, bindA)
	switch {
	case err != nil && errors.Is(err, seal.ErrOpen):
		t.Errorf("Open with a cancelled ctx: %v matches seal.ErrOpen", err)
	case err != nil && !errors.Is(err, context.Canceled):
		t.Errorf("Open with a cancelled ctx: error %q does not match context.Canceled", err)
	case err == nil && !bytes.Equal(got, pt):
		t.Error("Open with a cancelled ctx returned the wrong plaintext")
	}

	mustOpen(t, s, env, bindA, pt)
	mustOpen(t, s, mustSeal(t, s, pt, bindA), bindA, pt)
}

func testOtherKey(t *testing.T, h Harness) {
	s1 := h.New(t)
	s2 := h.New(t)
	pt := secret(t, 40)
	env1 := mustSeal(t, s1, pt, bindA)
	env2 := mustSeal(t, s2, pt, bindA)
	openFails(t, s2, env1, bindA, "first sealer's envelope opened by a sealer with another key")
	openFails(t, s1, env2, bindA, "second sealer's envelope opened by the first")
	mustOpen(t, s1, env1, bindA, pt)
	mustOpen(t, s2, env2, bindA, pt)
}

func testReopen(t *testing.T, h Harness) {
	s1 := h.New(t)
	pt := secret(t, 40)
	env1 := mustSeal(t, s1, pt, bindA)
	s2 := h.Reopen(t, s1)
	if s2 == nil {
		t.Fatal("Reopen returned nil")
	}
	mustOpen(t, s2, env1, bindA, pt)
	openFails(t, s2, env1, bindB, "reopened sealer, other binding")
	env2 := mustSeal(t, s2, pt, bindB)
	mustOpen(t, s1, env2, bindB, pt)
}
