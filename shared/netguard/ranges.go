package netguard

import "net/netip"

// The blocked ranges are every block of the IANA IPv4 and IPv6
// Special-Purpose Address Registries (RFC 6890, RFC 8190; the registries
// as updated in 2024-2025: https://www.iana.org/assignments/iana-ipv4-special-registry
// and https://www.iana.org/assignments/iana-ipv6-special-registry), plus
// the multicast blocks (224.0.0.0/4, ff00::/8) and, for IPv6, everything
// outside the global unicast space 2000::/3 (the IPv6 Address Space
// registry: IANA assigns unicast addresses from 2000::/3 only; the rest
// is "Reserved by IETF", unique-local, link-local or multicast).
//
// Blocks the registries mark "globally reachable" (the PCP and TURN
// anycast addresses, AS112, AMT, ORCHIDv2, drone remote ID tags) are
// blocked as well: no storage service answers there, and an allow-list
// of special purposes would be one more list to keep up to date.
//
// Two blocks carry an IPv4 address inside an IPv6 one:
//   - 64:ff9b::/96, the NAT64 Well-Known Prefix (RFC 6052), is allowed
//     when its embedded IPv4 address is (an IPv6-only network reaches
//     IPv4-only endpoints through it) and refused when that address is
//     blocked: the translator would deliver the connection there.
//     RFC 6052 forbids the prefix for non-global IPv4 addresses anyway.
//     The local-use prefix 64:ff9b:1::/48 (RFC 8215) is not globally
//     reachable and its address format is the operator's choice, so it
//     is refused whole.
//   - 2002::/16, 6to4 (RFC 3056), is refused whole, whatever IPv4 address
//     it embeds: a 6to4 packet is tunnelled to that embedded address by
//     whichever relay the host's route picks, which no check here can
//     see, the relay anycast block is deprecated (RFC 7526), and no
//     storage service is reached through 6to4.
//
// IPv4-mapped addresses (::ffff:0:0/96) are unmapped before the check, so
// they are refused exactly when their IPv4 address is. The deprecated
// IPv4-compatible block ::/96 (RFC 4291) is refused whole: it holds the
// unspecified and loopback addresses and IPv4 addresses some stacks would
// route as such.

// blockedRange is a named prefix; ranges are checked in order, so more
// specific names come before the ranges that contain them.
type blockedRange struct {
	name   string
	prefix netip.Prefix
}

func r(name, prefix string) blockedRange {
	return blockedRange{name: name, prefix: netip.MustParsePrefix(prefix)}
}

// blockedV4 is the IANA IPv4 Special-Purpose Address Registry, and
// multicast.
var blockedV4 = []blockedRange{
	r("unspecified", "0.0.0.0/8"),                 // "This network", RFC 791; 0.0.0.0/32 "this host", RFC 1122
	r("private", "10.0.0.0/8"),                    // Private-Use, RFC 1918
	r("carrier-grade NAT", "100.64.0.0/10"),       // Shared Address Space, RFC 6598
	r("loopback", "127.0.0.0/8"),                  // RFC 1122
	r("link-local", "169.254.0.0/16"),             // RFC 3927; the metadata services live here
	r("private", "172.16.0.0/12"),                 // Private-Use, RFC 1918
	r("IETF protocol assignment", "192.0.0.0/24"), // RFC 6890: DS-Lite, PCP and TURN anycast, NAT64 discovery, ...
	r("documentation", "192.0.2.0/24"),            // TEST-NET-1, RFC 5737
	r("AS112", "192.31.196.0/24"),                 // AS112-v4, RFC 7535
	r("AMT", "192.52.193.0/24"),                   // Automatic Multicast Tunneling, RFC 7450
	r("6to4 relay anycast", "192.88.99.0/24"),     // deprecated, RFC 7526; 6a44 relay, RFC 6751
	r("private", "192.168.0.0/16"),                // Private-Use, RFC 1918
	r("AS112", "192.175.48.0/24"),                 // Direct Delegation AS112 Service, RFC 7534
	r("benchmarking", "198.18.0.0/15"),            // RFC 2544
	r("documentation", "198.51.100.0/24"),         // TEST-NET-2, RFC 5737
	r("documentation", "203.0.113.0/24"),          // TEST-NET-3, RFC 5737
	r("multicast", "224.0.0.0/4"),                 // RFC 5771 (not in the special-purpose registry)
	r("broadcast", "255.255.255.255/32"),          // Limited Broadcast, RFC 8190
	r("reserved", "240.0.0.0/4"),                  // Reserved, RFC 1112
}

// blockedV6 is the IANA IPv6 Special-Purpose Address Registry, the
// IPv4-compatible block and the non-unicast blocks of the IPv6 Address
// Space registry. 64:ff9b::/96 and the rest of the space outside 2000::/3
// are handled in blockedName.
var blockedV6 = []blockedRange{
	r("unspecified", "::/128"),                 // RFC 4291
	r("loopback", "::1/128"),                   // RFC 4291
	r("IPv4-compatible", "::/96"),              // deprecated, RFC 4291
	r("NAT64 local-use", "64:ff9b:1::/48"),     // Local-Use IPv4/IPv6 Translation, RFC 8215
	r("discard-only", "100::/64"),              // RFC 6666
	r("dummy prefix", "100:0:0:1::/64"),        // Dummy IPv6 Prefix, registered 2025
	r("IETF protocol assignment", "2001::/23"), // RFC 2928: Teredo, benchmarking, AMT, AS112-v6, ORCHID, DETs, ...
	r("documentation", "2001:db8::/32"),        // RFC 3849
	r("6to4", "2002::/16"),                     // RFC 3056, whole: see above
	r("AS112", "2620:4f:8000::/48"),            // Direct Delegation AS112 Service, RFC 7534
	r("documentation", "3fff::/20"),            // RFC 9637
	r("SRv6 SIDs", "5f00::/16"),                // RFC 9602
	r("private", "fc00::/7"),                   // Unique-Local, RFC 4193; AWS's IMDS fd00:ec2::254 lives here
	r("link-local", "fe80::/10"),               // RFC 4291
	r("site-local", "fec0::/10"),               // deprecated, RFC 3879
	r("multicast", "ff00::/8"),                 // RFC 4291
}

var (
	// nat64WellKnown is the NAT64 Well-Known Prefix, checked by the IPv4
	// address it embeds in its last 32 bits.
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	// globalUnicast is the only IPv6 space IANA assigns unicast addresses
	// from; an address outside it (and outside the blocks above) is
	// reserved.
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// blockedName returns the name of the blocked range holding the unmapped
// address ip, or "".
func blockedName(ip netip.Addr) string {
	if ip.Is4() {
		return lookup(blockedV4, ip)
	}
	if name := lookup(blockedV6, ip); name != "" {
		return name
	}
	if nat64WellKnown.Contains(ip) {
		b := ip.As16()
		if name := lookup(blockedV4, netip.AddrFrom4([4]byte(b[12:16]))); name != "" {
			return "NAT64 " + name
		}
		return ""
	}
	if !globalUnicast.Contains(ip) {
		return "reserved"
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
