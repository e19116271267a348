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
