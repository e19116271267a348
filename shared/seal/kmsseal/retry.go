package kmsseal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/seal"
)

// op is a KMS operation the Sealer calls.
type op string

const (
	opGenerateDataKey op = "GenerateDataKey"
	opDecrypt         op = "Decrypt"
)

// class is what a failed KMS request means for the caller.
type class int

const (
	// classFail: a permanent failure that is neither the envelope's fault
	// nor transient (a missing or disabled key, denied GenerateDataKey, a
	// bad request). Returned wrapped, without a code: a 500.
	classFail class = iota
	// classOpen: the envelope does not open; seal.ErrOpen.
	classOpen
	// classRetry: transient; retried, then errcode.Unavailable.
	classRetry
)

// openCodes are the KMS error codes that, from Decrypt, mean the wrapped
// key is not ours to open: corrupted or made under another encryption
// context (InvalidCiphertextException) or another key
// (IncorrectKeyException). AccessDeniedException is included because
// Decrypt is pinned to our key: KMS (and moto, which answers it for a
// ciphertext naming another or an unknown key) uses it when the ciphertext
// names a key we may not use. A key policy that denies us our own key
// shows up on Seal first, as a plain failure.
var openCodes = map[string]bool{
	"InvalidCiphertextException": true,
	"IncorrectKeyException":      true,
	"AccessDeniedException":      true,
}

// retryCodes are the KMS error codes of transient failures.
var retryCodes = map[string]bool{
	"ThrottlingException":         true,
	"KMSInternalException":        true,
	"DependencyTimeoutException":  true,
	"KeyUnavailableException":     true,
	"ServiceUnavailableException": true,
	"InternalFailure":             true,
}

// retryStatus are HTTP statuses retried whatever the error code says.
var retryStatus = map[int]bool{429: true, 500: true, 502: true, 503: true, 504: true}

// classify decides what a failed request of operation o means. It is the
// one place where KMS and network errors are interpreted. The caller has
// already ruled out its own ctx being done.
func classify(o op, err error) class {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case o == opDecrypt && openCodes[code]:
			return classOpen
		case retryCodes[code]:
			return classRetry
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && retryStatus[status.HTTPStatusCode()] {
		return classRetry
	}
	if apiErr != nil {
		return classFail
	}
	// Not an answer from KMS: a refused or reset connection, a request that
	// could not be sent, an attempt timeout. smithy marks send failures as
	// connection errors.
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return classRetry
	}
	return classFail
}

// do calls attempt until it succeeds, fails for good, runs out of attempts
// or ctx is done, and returns the error the caller should see.
func (s *Sealer) do(ctx context.Context, o op, attempt func(context.Context) error) error {
	counter := &s.stats.decrypt
	if o == opGenerateDataKey {
		counter = &s.stats.generateDataKey
	}
	var last error
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return ctxError(o, err, last, n-1)
		}
		if n > 1 {
			s.stats.retries.Add(1)
		}
		counter.Add(1)
		err := s.attempt(ctx, attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// Our caller's ctx ended during the request: that is why it
			// failed, and KMS had not answered by then.
			return ctxError(o, ctx.Err(), err, n)
		}
		switch classify(o, err) {
		case classOpen:
			return fmt.Errorf("%w: kms %s: %w", seal.ErrOpen, o, err)
		case classFail:
			return fmt.Errorf("kms %s: %w", o, err)
		}
		last = err
		if n >= s.cfg.maxAttempts {
			return errcode.Wrap(errcode.Unavailable, last, "kms %s unavailable after %d attempts", o, n)
		}
		t := time.NewTimer(s.backoff(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctxError(o, ctx.Err(), last, n)
		case <-t.C:
		}
	}
}

// attempt makes one request under the per-attempt timeout.
func (s *Sealer) attempt(ctx context.Context, attempt func(context.Context) error) error {
	if s.cfg.attemptTimeout <= 0 {
		return attempt(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.attemptTimeout)
	defer cancel()
	return attempt(ctx)
}

// backoff returns the wait before retry n (n >= 1): "equal jitter" over a
// capped exponential, so between half and all of min(maxDelay, base·2^(n-1)).
func (s *Sealer) backoff(n int) time.Duration {
	d := s.cfg.baseDelay
	for i := 1; i < n && d < s.cfg.maxDelay; i++ {
		if d > s.cfg.maxDelay/2 {
			d = s.cfg.maxDelay
			break
		}
		d *= 2
	}
	d = min(d, s.cfg.maxDelay)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// ctxError is the error for a Seal or Open whose ctx ended; last is the
// failure of the latest request, if any. It matches ctx's error. A deadline
// that ran out while KMS was failing or slow also matches
// errcode.ErrUnavailable: KMS did not answer in time.
func ctxError(o op, ctxErr, last error, attempts int) error {
	if last == nil {
		return fmt.Errorf("kms %s: %w", o, ctxErr)
	}
	err := fmt.Errorf("kms %s: %w after %d attempts, the last failing with: %w", o, ctxErr, attempts, last)
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return errcode.Wrap(errcode.Unavailable, err, "kms %s unavailable", o)
	}
	return err
}
