package blob

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"syscall"
)

// The transport-level classification every driver's error mapping shares:
// each driver turns its SDK's errors into codes in its own errors.go, and
// calls these for what lies below the SDK.

// IsResponseTooLarge reports an answer cut off because it passed a size
// limit: netguard's *TooLargeError, or a driver's own bound. Such errors
// have a method ResponseTooLarge() string that says what passed which
// limit; TooLargeDetail returns it.
func IsResponseTooLarge(err error) bool {
	var tl responseTooLarge
	return errors.As(err, &tl)
}

// TooLargeDetail says what passed which limit ("an error answer larger
// than 64 KiB") for an error for which IsResponseTooLarge is true, else "".
func TooLargeDetail(err error) string {
	var tl responseTooLarge
	if errors.As(err, &tl) {
		return tl.ResponseTooLarge()
	}
	return ""
}

// responseTooLarge is implemented by errors of answers cut off at a size
// limit (netguard's, and the drivers' own).
type responseTooLarge interface {
	error
	ResponseTooLarge() string
}

// IsTLSError reports a failed TLS handshake or certificate check.
func IsTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		header           tls.RecordHeaderError
		alert            tls.AlertError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert)
}

// IsNetTimeout reports a network operation that timed out.
func IsNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsNetError reports failures to reach the endpoint at all: DNS, connect,
// reset, a blocked address (netguard's errors come wrapped in a
// *net.OpError or *url.Error) or a connection closed mid-answer.
func IsNetError(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
		ue  *url.Error
		ne  net.Error
	)
	return errors.As(err, &op) || errors.As(err, &dns) || errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
