package azureblob

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// This file is the one place where SDK and transport errors become
// *blob.Error values with portable codes.

// wrap returns nil for nil and otherwise a *blob.Error for op around err,
// scrubbed of the bucket's secrets.
func (b *Bucket) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var be *blob.Error
	if errors.As(err, &be) {
		return err
	}
	e := &blob.Error{Op: op}
	e.Code, e.TLS = classify(err)
	e.Err = scrub(err, b.secrets)
	return e
}

// classify maps err to a portable code, and reports a TLS failure.
func classify(err error) (code blob.Code, isTLS bool) {
	if blob.IsResponseTooLarge(err) {
		// Before the rest: a cut-off body read looks like a transport
		// failure.
		return blob.ResponseTooLarge, false
	}
	var ee *EntraError
	if errors.As(err, &ee) {
		switch ee.Part {
		case PartTenant, PartClient, PartFederation:
			return blob.InvalidAccessKey, false
		case PartSecret:
			return blob.SignatureMismatch, false
		}
		if errors.Is(ee.Err, context.DeadlineExceeded) || blob.IsNetTimeout(ee.Err) {
			return blob.Timeout, false
		}
		// Entra's trouble, not the storage endpoint's: the check layer
		// reports it from the *EntraError.
		return blob.Unknown, false
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if c := classifyResponse(re); c != blob.Unknown {
			return c, false
		}
	}
	switch {
	case blob.IsTLSError(err):
		return blob.Unreachable, true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || blob.IsNetTimeout(err):
		return blob.Timeout, false
	case isUnknownAccountHost(err):
		return blob.InvalidAccessKey, false
	case blob.IsNetError(err):
		return blob.Unreachable, false
	}
	return blob.Unknown, false
}

// classifyResponse maps an error answer of the Blob service by its error
// code (x-ms-error-code), then by its status.
//
// Azurite, the emulator, differs from Azure in two answers, recognised by
// its Server header: a request whose Shared Key or SAS signature does not
// match is AuthorizationFailure there (AuthenticationFailed on Azure), and
// an account it does not know is ResourceNotFound there (on Azure the
// account's host name does not resolve; see isUnknownAccountHost).
func classifyResponse(re *azcore.ResponseError) blob.Code {
	azurite := re.RawResponse != nil && strings.HasPrefix(re.RawResponse.Header.Get("Server"), "Azurite")
	switch re.ErrorCode {
	case "ContainerNotFound", "BlobNotFound", "ContainerBeingDeleted":
		return blob.NotFound
	case "ResourceNotFound":
		if azurite {
			return blob.InvalidAccessKey
		}
		return blob.NotFound
	case "AuthenticationFailed", "InvalidAuthenticationInfo":
		return blob.SignatureMismatch
	case "AuthorizationFailure":
		if azurite {
			return blob.SignatureMismatch
		}
		return blob.AccessDenied
	case "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch",
		"AuthorizationServiceMismatch", "AuthorizationSourceIPMismatch",
		"AuthorizationProtocolMismatch", "InsufficientAccountPermissions",
		"KeyBasedAuthenticationNotPermitted", "NoAuthenticationInformation",
		"PublicAccessNotPermitted", "AccountIsDisabled":
		return blob.AccessDenied
	case "InvalidResourceName", "OutOfRangeInput":
		return blob.InvalidBucketName
	}
	switch re.StatusCode {
	case http.StatusNotFound:
		return blob.NotFound
	case http.StatusForbidden, http.StatusUnauthorized:
		return blob.AccessDenied
	}
	return blob.Unknown
}

// isInvalidRange reports Azure's 416 answer to a range of an empty blob.
func isInvalidRange(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && (re.ErrorCode == "InvalidRange" || re.StatusCode == http.StatusRequestedRangeNotSatisfiable)
}

// blobHostSuffixes are the blob endpoints' domains of Azure's clouds
// (public, China, US Government), where every storage account has a host
// name of its own.
var blobHostSuffixes = []string{".blob.core.windows.net", ".blob.core.chinacloudapi.cn", ".blob.core.usgovcloudapi.net"}

// isUnknownAccountHost reports a lookup of an account's own host name
// that found no such host: on Azure, that account does not exist.
func isUnknownAccountHost(err error) bool {
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(de.Name, "."))
	for _, s := range blobHostSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// scrub removes the query (a SAS token's signature) from any *url.Error
// in err's chain, and hides err's message behind a neutral one if a secret
// still shows in it. Codes are computed before scrubbing; the chain keeps
// its sentinel errors either way.
func scrub(err error, secrets []string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = "[redacted]"
			ue.URL = u.String()
		}
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			return &redacted{err: err}
		}
	}
	return err
}

// redacted is an error whose message would have shown a secret.
type redacted struct{ err error }

func (r *redacted) Error() string {
	return "azureblob: request failed (details withheld: they contained a credential)"
}

// Unwrap lets errors.Is and errors.As see the cause, for its sentinels and
// types; its message is not shown.
func (r *redacted) Unwrap() error { return r.err }
