// Package netguard is the SSRF-safe dialer used by every outbound client
// that talks to a user-supplied endpoint (S3-compatible servers and the
// like). The check runs at dial time on the IP address actually being
// connected to (net.Dialer.ControlContext), after DNS resolution, so a
// hostname that resolves, or re-resolves (DNS rebinding), to an internal
// address is refused all the same.
//
// Blocked unless Policy.AllowPrivate: unspecified, loopback (this covers
// the Lambda Runtime API at 127.0.0.1:9001), link-local (including the
// 169.254.169.254 metadata service), private, carrier-grade NAT, multicast,
// broadcast and reserved IPv4, the IETF protocol assignments block,
// benchmarking, the IPv4-mapped IPv6 forms of all of these, and NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) addresses whose embedded IPv4
// address is blocked.
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

// blockedRange is a named prefix; ranges are checked in order, so more
// specific names come before the ranges that contain them.
type blockedRange struct {
	name   string
	prefix netip.Prefix
}

var blockedV4 = []blockedRange{
	{"unspecified", netip.MustParsePrefix("0.0.0.0/8")},
	{"private", netip.MustParsePrefix("10.0.0.0/8")},
	{"carrier-grade NAT", netip.MustParsePrefix("100.64.0.0/10")},
	{"loopback", netip.MustParsePrefix("127.0.0.0/8")},
	{"link-local", netip.MustParsePrefix("169.254.0.0/16")},
	{"private", netip.MustParsePrefix("172.16.0.0/12")},
	{"IETF protocol assignment", netip.MustParsePrefix("192.0.0.0/24")},
	{"private", netip.MustParsePrefix("192.168.0.0/16")},
	{"benchmarking", netip.MustParsePrefix("198.18.0.0/15")},
	{"multicast", netip.MustParsePrefix("224.0.0.0/4")},
	{"broadcast", netip.MustParsePrefix("255.255.255.255/32")},
	{"reserved", netip.MustParsePrefix("240.0.0.0/4")},
}

var blockedV6 = []blockedRange{
	{"unspecified", netip.MustParsePrefix("::/128")},
	{"loopback", netip.MustParsePrefix("::1/128")},
	{"link-local", netip.MustParsePrefix("fe80::/10")},
	{"private", netip.MustParsePrefix("fc00::/7")},
	{"multicast", netip.MustParsePrefix("ff00::/8")},
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

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

// blockedName returns the name of the blocked range holding the unmapped
// address ip, or "".
func blockedName(ip netip.Addr) string {
	if ip.Is4() {
		return lookup(blockedV4, ip)
	}
	if name := lookup(blockedV6, ip); name != "" {
		return name
	}
	b := ip.As16()
	switch {
	case nat64Prefix.Contains(ip):
		if name := blockedName(netip.AddrFrom4([4]byte(b[12:16]))); name != "" {
			return "NAT64 " + name
		}
	case sixToFour.Contains(ip):
		if name := blockedName(netip.AddrFrom4([4]byte(b[2:6]))); name != "" {
			return "6to4 " + name
		}
	}
	return ""
}

func lookup(ranges []blockedRange, ip netip.Addr) string {
	for _, r := range ranges {
		if r.prefix.Contains(ip) {
			return r.name
		}
	}
	return ""
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
