package s3blob

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// This file is the one place where SDK and transport errors become
// *blob.Error values with portable codes.

// wrap returns nil for nil and otherwise a *blob.Error for op around err.
func (b *Bucket) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &blob.Error{Op: op, Err: err}
	e.Code, e.Region, e.TLS = classify(err, b.region)
	var ae smithy.APIError
	if (e.Code == blob.AccessDenied || e.Code == blob.Unknown) && errors.As(err, &ae) {
		if op == "delete" && lockRefusal(ae) {
			e.Code = blob.Retained
		} else if key, action, ok := kmsRefusal(ae, op); ok {
			e.Code, e.KMSKey, e.KMSAction = blob.KMSAccessDenied, key, action
		}
	}
	if e.Code == blob.AccessDenied && b.requesterPays.Load() {
		markRequesterPays(e)
	}
	return e
}

// classify maps err to a portable code. signRegion is the region requests
// were signed for; region is the bucket's real region when the provider
// said it differs.
func classify(err error, signRegion string) (code blob.Code, region string, isTLS bool) {
	if blob.IsResponseTooLarge(err) {
		// Before the rest: the SDK wraps the cut-off read in errors that
		// look like transport failures.
		return blob.ResponseTooLarge, "", false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if c, r := classifyAPI(err, ae, signRegion); c != blob.Unknown {
			return c, r, false
		}
	}
	switch {
	case blob.IsTLSError(err):
		return blob.Unreachable, "", true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || blob.IsNetTimeout(err):
		return blob.Timeout, "", false
	case blob.IsNetError(err):
		return blob.Unreachable, "", false
	}
	if ae == nil && httpStatus(err) == http.StatusMovedPermanently {
		if r := bucketRegionHeader(err); r != "" && r != signRegion {
			return blob.WrongRegion, r, false
		}
	}
	return blob.Unknown, "", false
}

// classifyAPI maps an error answer of the S3 API.
func classifyAPI(err error, ae smithy.APIError, signRegion string) (blob.Code, string) {
	switch ae.ErrorCode() {
	case "NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchVersion":
		return blob.NotFound, ""
	case "AccessDenied", "Forbidden", "AllAccessDisabled":
		return blob.AccessDenied, ""
	case "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
		// The last three: temporary (role) credentials that S3 refused.
		return blob.InvalidAccessKey, ""
	case "SignatureDoesNotMatch":
		return blob.SignatureMismatch, ""
	case "InvalidBucketName":
		return blob.InvalidBucketName, ""
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "MovedPermanently", "IllegalLocationConstraintException":
		if r := realRegion(err, ae); r != "" && r != signRegion {
			return blob.WrongRegion, r
		}
		if httpStatus(err) == http.StatusMovedPermanently {
			return blob.WrongRegion, ""
		}
	}
	return blob.Unknown, ""
}

// expectingRegion finds the region in "...the region 'eu-west-1' is wrong;
// expecting 'us-east-1'" (AWS) or "...the region is wrong; expecting
// 'us-east-1'." (MinIO).
var expectingRegion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`expecting '([a-z0-9-]{1,64})'`) })

// realRegion returns the bucket's region as the provider told it: the
// x-amz-bucket-region header (AWS and MinIO send it with redirects and
// region errors) or the message.
func realRegion(err error, ae smithy.APIError) string {
	if r := bucketRegionHeader(err); r != "" {
		return r
	}
	if m := expectingRegion().FindStringSubmatch(ae.ErrorMessage()); m != nil {
		return m[1]
	}
	return ""
}

func bucketRegionHeader(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// isInvalidRange reports S3's 416 answer to a range of an empty object.
func isInvalidRange(err error) bool {
	var ae smithy.APIError
	return (errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange") || httpStatus(err) == http.StatusRequestedRangeNotSatisfiable
}
