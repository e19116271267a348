package kmsseal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/bucketlink/bucketlink/shared/backoff"
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
// one place where KMS and network errors are interpreted: the retryer asks
// it (through transient) whether to retry, and do what the caller sees.
// The caller has already ruled out its own ctx being done.
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

// transient reports whether err, the failure of one KMS request, is worth
// retrying: throttling, a KMS internal error or timeout, a 5xx or 429, a
// request that could not be sent or an attempt that timed out. The
// retryer asks it about every failed attempt; nothing else decides.
func transient(err error) bool {
	var timeout *attemptTimeoutError
	if errors.As(err, &timeout) {
		return true
	}
	var canceled *smithy.CanceledError
	if errors.As(err, &canceled) {
		// The caller's ctx ended: no retry can succeed.
		return false
	}
	// Decrypt's open codes and the retry codes are disjoint, so the
	// operation does not matter here.
	return classify(opGenerateDataKey, err) == classRetry
}

// newRetryer returns the SDK retryer of a Sealer with cfg: at most
// maxAttempts requests per Seal or Open, equal jitter over a capped
// exponential between them, only transient failures retried, and no
// retry quota (the token bucket of the SDK's default would turn a long
// outage into "retry quota exceeded" rather than attempts).
func newRetryer(cfg config) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = cfg.maxAttempts
		so.Backoff = backoff.Exponential{Base: cfg.baseDelay, Max: cfg.maxDelay, Jitter: backoff.Equal}
		so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return aws.BoolTernary(transient(err))
		})}
		so.RateLimiter = ratelimit.None
	})
}

// do makes one KMS call through call with the Sealer's retryer, and
// returns the error the caller should see.
func (s *Sealer) do(ctx context.Context, o op, call func(context.Context, func(*kms.Options)) error) error {
	if err := ctx.Err(); err != nil {
		return ctxError(o, err, nil, 0)
	}
	var attempts int
	err := call(ctx, s.callOptions(o, &attempts))
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Our caller's ctx ended during a request or a backoff: that is
		// why the call failed.
		return ctxError(o, ctx.Err(), err, attempts)
	}
	switch classify(o, err) {
	case classOpen:
		return fmt.Errorf("%w: kms %s: %w", seal.ErrOpen, o, err)
	case classFail:
		return fmt.Errorf("kms %s: %w", o, err)
	}
	return errcode.Wrap(errcode.Unavailable, err, "kms %s unavailable after %d attempts", o, attempts)
}

// callOptions are the per-call options of a KMS request of operation o:
// the Sealer's retryer, and a middleware under it that bounds each attempt
// by the attempt timeout and counts it in *attempts and the Stats.
func (s *Sealer) callOptions(o op, attempts *int) func(*kms.Options) {
	counter := &s.stats.decrypt
	if o == opGenerateDataKey {
		counter = &s.stats.generateDataKey
	}
	each := middleware.FinalizeMiddlewareFunc("kmssealAttempt", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		*attempts++
		counter.Add(1)
		if *attempts > 1 {
			s.stats.retries.Add(1)
		}
		if s.cfg.attemptTimeout <= 0 {
			return next.HandleFinalize(ctx, in)
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.attemptTimeout)
		defer cancel()
		out, md, err := next.HandleFinalize(actx, in)
		if err != nil && ctx.Err() == nil && actx.Err() != nil {
			err = &attemptTimeoutError{limit: s.cfg.attemptTimeout, err: err}
		}
		return out, md, err
	})
	return func(ko *kms.Options) {
		ko.Retryer = s.retryer
		ko.APIOptions = append(ko.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(each, "Retry", middleware.After)
		})
	}
}

// attemptTimeoutError is a KMS request abandoned after the attempt
// timeout while the caller's ctx was still live: retried like a network
// failure.
type attemptTimeoutError struct {
	limit time.Duration
	err   error
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %v: %v", e.limit, e.err)
}

func (e *attemptTimeoutError) Unwrap() error { return e.err }

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
