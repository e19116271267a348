package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// unavailableCodes are the DynamoDB error codes that mean "the service
// cannot serve this now; retry later". The SDK has already retried them
// with backoff by the time the store sees one.
var unavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"TransactionInProgressException":         true,
}

// classify is the one place where SDK errors get a code. Throttling, 5xx
// answers, an exhausted retry budget and a request that could not be sent
// become errcode.Unavailable (wrapping the cause); a cancelled or expired
// ctx stays matchable with errors.Is. Other errors (a missing table, a
// validation error, which are bugs or deployment faults) pass through
// unchanged and end up as a generic 500. Condition failures are not seen
// here: each operation maps its own.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // a per-attempt timeout of the HTTP client, not ours
	}
	if isUnavailable(err) {
		return errcode.Wrap(errcode.Unavailable, err, "dynamodb unavailable")
	}
	return err
}

func isUnavailable(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && unavailableCodes[apiErr.ErrorCode()] {
		return true
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= http.StatusInternalServerError {
		return true
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return true
	}
	var quotaErr ratelimit.QuotaExceededError
	return errors.As(err, &quotaErr)
}

// conditionFailed reports whether err is a failed condition of a single-item
// write, and returns the stored item when the request asked for ALL_OLD
// (nil when there is no stored item).
func conditionFailed(err error) (map[string]types.AttributeValue, bool) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, false
	}
	return ccf.Item, true
}

// Cancellation reason codes of TransactWriteItems.
const (
	reasonNone                = "None"
	reasonConditionFailed     = "ConditionalCheckFailed"
	reasonTransactionConflict = "TransactionConflict"
	reasonThrottling          = "ThrottlingError"
	reasonThroughputExceeded  = "ProvisionedThroughputExceeded"
)

// cancelReasons returns the per-item reason codes of a cancelled
// transaction, in the order of its items.
func cancelReasons(err error) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = reasonNone
		if r.Code != nil {
			codes[i] = *r.Code
		}
	}
	return codes, true
}

// notFound and alreadyExists build the store's contract errors.
func notFound(format string, args ...any) error {
	return errcode.New(errcode.NotFound, format, args...)
}

func alreadyExists(format string, args ...any) error {
	return errcode.New(errcode.AlreadyExists, format, args...)
}
