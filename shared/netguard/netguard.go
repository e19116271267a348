// Package netguard is the SSRF-safe dialer used by every outbound client
// that talks to a user-supplied endpoint (S3-compatible servers and the
// like). The check runs at dial time on the IP address actually being
// connected to (net.Dialer.ControlContext), after DNS resolution, so a
// hostname that resolves, or re-resolves (DNS rebinding), to an internal
// address is refused all the same.
//
// Blocked unless Policy.AllowPrivate: every block of the IANA IPv4 and
// IPv6 Special-Purpose Address Registries (unspecified, loopback, which
// covers the Lambda Runtime API at 127.0.0.1:9001, link-local with the
// 169.254.169.254 metadata service, private and unique-local,
// carrier-grade NAT, documentation, benchmarking, the IETF protocol
// assignments, 6to4, ...), multicast, and IPv6 outside the global unicast
// space; IPv4-mapped addresses are checked as the IPv4 address they map,
// and NAT64 addresses by the IPv4 address they embed. ranges.go lists
// them and says why.
//
// The HTTP client it builds (Policy.HTTPClient) also bounds every answer
// (http.go) and, unless AllowPrivate, refuses plain http.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked matches (errors.Is) every *BlockedError.
var ErrBlocked = errors.New("netguard: address blocked")

// BlockedError reports a refused address. Dial and HTTP errors wrap it, so
// errors.As finds it.
type BlockedError struct {
	// Addr is the refused address as dialled (IPv4-mapped forms unmapped).
	Addr netip.Addr
	// Range names the blocked range, e.g. "loopback" or "link-local".
	Range string
}

// Error implements error.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("netguard: connection to %s refused: %s address", e.Addr, e.Range)
}

// Is reports whether target is ErrBlocked.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Policy decides which addresses may be dialled. The zero value is the
// production policy: every blocked range is refused.
type Policy struct {
	// AllowPrivate disables every check: a dev/test switch for talking to
	// emulators on localhost or a private network. Never set it in
	// production.
	AllowPrivate bool
}

// Check returns nil if ip may be dialled, else a *BlockedError naming the
// range it falls in. An invalid (zero) address is always refused.
func (p Policy) Check(ip netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	if !ip.IsValid() {
		return &BlockedError{Addr: ip, Range: "invalid"}
	}
	ip = ip.WithZone("").Unmap()
	if name := blockedName(ip); name != "" {
		return &BlockedError{Addr: ip, Range: name}
	}
	return nil
}

// control is the net.Dialer hook: it runs after the address is resolved
// and before connect. An address that does not parse is refused.
func (p Policy) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		if p.AllowPrivate {
			return nil
		}
		return fmt.Errorf("netguard: refusing %s dial to unparsable address %q: %w", network, address, ErrBlocked)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a new net.Dialer with the given connect timeout (0 means
// none beyond the ctx deadline) that refuses, at connect time, every
// address Check refuses. The error wraps a *BlockedError.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:        timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: p.control,
	}
}

// BlockedAddress returns the refused address. Packages that must recognise
// a blocked dial without importing netguard (verify) match on this method.
func (e *BlockedError) BlockedAddress() string { return e.Addr.String() }
