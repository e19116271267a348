package netguard_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/bucketlink/bucketlink/shared/netguard"
)

// neighbour is an address just outside a block and the range it falls in
// ("" means allowed).
type neighbour struct{ addr, want string }

// TestCheckRanges has one row per blocked block of the IANA IPv4 and IPv6
// Special-Purpose Address Registries (and multicast, and the IPv6 space
// outside 2000::/3): addresses inside it, and the addresses just outside
// each end, which the test proves are the block's neighbours.
func TestCheckRanges(t *testing.T) {
	tests := []struct {
		block   string
		want    string
		inside  []string
		outside []neighbour
	}{
		// IPv4.
		{"0.0.0.0/8", "unspecified", []string{"0.0.0.0", "0.1.2.3", "0.255.255.255"}, []neighbour{{"1.0.0.0", ""}}},
		{"10.0.0.0/8", "private", []string{"10.0.0.0", "10.20.30.40", "10.255.255.255"}, []neighbour{{"9.255.255.255", ""}, {"11.0.0.0", ""}}},
		{"100.64.0.0/10", "carrier-grade NAT", []string{"100.64.0.0", "100.100.100.200", "100.127.255.255"}, []neighbour{{"100.63.255.255", ""}, {"100.128.0.0", ""}}},
		{"127.0.0.0/8", "loopback", []string{"127.0.0.0", "127.0.0.1", "127.255.255.255"}, []neighbour{{"126.255.255.255", ""}, {"128.0.0.0", ""}}},
		{"169.254.0.0/16", "link-local", []string{"169.254.0.0", "169.254.169.254", "169.254.170.2", "169.254.255.255"}, []neighbour{{"169.253.255.255", ""}, {"169.255.0.0", ""}}},
		{"172.16.0.0/12", "private", []string{"172.16.0.0", "172.20.1.1", "172.31.255.255"}, []neighbour{{"172.15.255.255", ""}, {"172.32.0.0", ""}}},
		{"192.0.0.0/24", "IETF protocol assignment", []string{"192.0.0.0", "192.0.0.8", "192.0.0.9", "192.0.0.170", "192.0.0.255"}, []neighbour{{"191.255.255.255", ""}, {"192.0.1.0", ""}}},
		{"192.0.2.0/24", "documentation", []string{"192.0.2.0", "192.0.2.1", "192.0.2.255"}, []neighbour{{"192.0.1.255", ""}, {"192.0.3.0", ""}}},
		{"192.31.196.0/24", "AS112", []string{"192.31.196.0", "192.31.196.1", "192.31.196.255"}, []neighbour{{"192.31.195.255", ""}, {"192.31.197.0", ""}}},
		{"192.52.193.0/24", "AMT", []string{"192.52.193.0", "192.52.193.1", "192.52.193.255"}, []neighbour{{"192.52.192.255", ""}, {"192.52.194.0", ""}}},
		{"192.88.99.0/24", "6to4 relay anycast", []string{"192.88.99.0", "192.88.99.1", "192.88.99.2", "192.88.99.255"}, []neighbour{{"192.88.98.255", ""}, {"192.88.100.0", ""}}},
		{"192.168.0.0/16", "private", []string{"192.168.0.0", "192.168.1.1", "192.168.255.255"}, []neighbour{{"192.167.255.255", ""}, {"192.169.0.0", ""}}},
		{"192.175.48.0/24", "AS112", []string{"192.175.48.0", "192.175.48.6", "192.175.48.255"}, []neighbour{{"192.175.47.255", ""}, {"192.175.49.0", ""}}},
		{"198.18.0.0/15", "benchmarking", []string{"198.18.0.0", "198.18.200.1", "198.19.255.255"}, []neighbour{{"198.17.255.255", ""}, {"198.20.0.0", ""}}},
		{"198.51.100.0/24", "documentation", []string{"198.51.100.0", "198.51.100.7", "198.51.100.255"}, []neighbour{{"198.51.99.255", ""}, {"198.51.101.0", ""}}},
		{"203.0.113.0/24", "documentation", []string{"203.0.113.0", "203.0.113.9", "203.0.113.255"}, []neighbour{{"203.0.112.255", ""}, {"203.0.114.0", ""}}},
		{"224.0.0.0/4", "multicast", []string{"224.0.0.0", "232.1.2.3", "239.255.255.255"}, []neighbour{{"223.255.255.255", ""}, {"240.0.0.0", "reserved"}}},
		{"240.0.0.0/4", "reserved", []string{"240.0.0.0", "250.1.2.3", "255.255.255.254"}, []neighbour{{"239.255.255.255", "multicast"}}},
		{"255.255.255.255/32", "broadcast", []string{"255.255.255.255"}, []neighbour{{"255.255.255.254", "reserved"}}},

		// IPv6.
		{"::/128", "unspecified", []string{"::"}, []neighbour{{"::1", "loopback"}}},
		{"::1/128", "loopback", []string{"::1"}, []neighbour{{"::", "unspecified"}, {"::2", "IPv4-compatible"}}},
		{"::/96", "IPv4-compatible", []string{"::2", "::7f00:1", "::8.8.8.8", "::ffff:ffff"}, []neighbour{{"::1:0:0", "reserved"}}},
		{"64:ff9b:1::/48", "NAT64 local-use", []string{"64:ff9b:1::", "64:ff9b:1::8.8.8.8", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "reserved"}, {"64:ff9b:2::", "reserved"}}},
		{"100::/64", "discard-only", []string{"100::", "100::1", "100::ffff:ffff:ffff:ffff"}, []neighbour{{"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"}, {"100:0:0:1::", "dummy prefix"}}},
		{"100:0:0:1::/64", "dummy prefix", []string{"100:0:0:1::", "100:0:0:1::1"}, []neighbour{{"100::ffff:ffff:ffff:ffff", "discard-only"}, {"100:0:0:2::", "reserved"}}},
		{"2001::/23", "IETF protocol assignment", []string{
			"2001::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
			"2001:1::1", "2001:1::2", "2001:2::1", "2001:3::1", "2001:4:112::1", // PCP, TURN, benchmarking, AMT, AS112-v6
			"2001:10::1", "2001:20::1", "2001:30::1", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", // ORCHID, ORCHIDv2, DETs
		}, []neighbour{{"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""}, {"2001:200::", ""}}},
		{"2001:db8::/32", "documentation", []string{"2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""}, {"2001:db9::", ""}}},
		{"2002::/16", "6to4", []string{"2002::", "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:808:808::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""}, {"2003::", ""}}},
		{"2620:4f:8000::/48", "AS112", []string{"2620:4f:8000::", "2620:4f:8000::42", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", ""}, {"2620:4f:8001::", ""}}},
		{"3fff::/20", "documentation", []string{"3fff::", "3fff::1", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""}, {"3fff:1000::", ""}}},
		{"5f00::/16", "SRv6 SIDs", []string{"5f00::", "5f00::1", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"}, {"5f01::", "reserved"}}},
		{"fc00::/7", "private", []string{"fc00::", "fd00::2", "fd00:ec2::254", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"}, {"fe00::", "reserved"}}},
		{"fe80::/10", "link-local", []string{"fe80::", "fe80::1", "fe80::1%eth0", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"}, {"fec0::", "site-local"}}},
		{"fec0::/10", "site-local", []string{"fec0::", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"}, {"ff00::", "multicast"}}},
		{"ff00::/8", "multicast", []string{"ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"}}},
		// Outside the global unicast space 2000::/3.
		{"4000::/2", "reserved", []string{"4000::", "6000::1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""}}},
		{"1000::/4", "reserved", []string{"1000::", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, []neighbour{{"2000::", ""}}},
		{"::ffff:0:0:0/96", "reserved", []string{"::ffff:0:7f00:1"}, nil}, // IPv4-translated (SIIT), deprecated
	}
	for _, tc := range tests {
		t.Run(tc.block, func(t *testing.T) {
			block := netip.MustParsePrefix(tc.block)
			for _, a := range tc.inside {
				ip := netip.MustParseAddr(a)
				if !block.Contains(ip.WithZone("")) {
					t.Fatalf("test table: %s is not in %s", a, block)
				}
				wantCheck(t, ip, tc.want)
			}
			first, last := block.Masked().Addr(), lastAddr(block)
			for _, n := range tc.outside {
				ip := netip.MustParseAddr(n.addr)
				if ip != first.Prev() && ip != last.Next() {
					t.Fatalf("test table: %s is not a neighbour of %s (%s..%s)", n.addr, block, first, last)
				}
				wantCheck(t, ip, n.want)
			}
		})
	}
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestCheckEmbedded covers the addresses checked by the IPv4 address they
// carry: IPv4-mapped IPv6 and the NAT64 Well-Known Prefix.
func TestCheckEmbedded(t *testing.T) {
	tests := []struct{ addr, want string }{
		// IPv4-mapped ::ffff:0:0/96: the IPv4 address's own range.
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:100.64.0.1", "carrier-grade NAT"},
		{"::ffff:192.0.2.1", "documentation"},
		{"::ffff:224.0.0.1", "multicast"},
		{"::ffff:240.0.0.1", "reserved"},
		{"::ffff:255.255.255.255", "broadcast"},
		{"::ffff:8.8.8.8", ""},
		{"::fffe:ffff:ffff", "reserved"}, // just below the mapped block
		{"::1:0:0:0", "reserved"},        // just above it
		// NAT64 Well-Known Prefix 64:ff9b::/96: allowed for a public IPv4
		// address, refused for a blocked one.
		{"64:ff9b::", "NAT64 unspecified"},
		{"64:ff9b::127.0.0.1", "NAT64 loopback"},
		{"64:ff9b::169.254.169.254", "NAT64 link-local"},
		{"64:ff9b::a00:1", "NAT64 private"},
		{"64:ff9b::192.0.2.1", "NAT64 documentation"},
		{"64:ff9b::ffff:ffff", "NAT64 broadcast"},
		{"64:ff9b::8.8.8.8", ""},
		{"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"}, // just below
		{"64:ff9b::1:0:0", "reserved"},                        // just above
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) { wantCheck(t, netip.MustParseAddr(tc.addr), tc.want) })
	}
}

// TestCheckPublic lists public addresses that must stay allowed.
func TestCheckPublic(t *testing.T) {
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "52.216.0.1", // S3 us-east-1
		"2606:4700:4700::1111", "2001:4860:4860::8888", "2600:1f18::1", "2a01:111:f100::1",
		"2000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		t.Run(a, func(t *testing.T) { wantCheck(t, netip.MustParseAddr(a), "") })
	}
}

// wantCheck checks that Check refuses ip in range want ("" means allowed)
// and that AllowPrivate allows it.
func wantCheck(t *testing.T, ip netip.Addr, want string) {
	t.Helper()
	err := netguard.Policy{}.Check(ip)
	if want == "" {
		if err != nil {
			t.Errorf("Check(%s) = %v, want nil", ip, err)
		}
	} else {
		var be *netguard.BlockedError
		switch {
		case !errors.As(err, &be):
			t.Errorf("Check(%s) = %v, want a *BlockedError", ip, err)
		case be.Range != want:
			t.Errorf("Check(%s) range = %q, want %q", ip, be.Range, want)
		case !errors.Is(err, netguard.ErrBlocked):
			t.Errorf("Check(%s): errors.Is(err, ErrBlocked) is false", ip)
		case be.Addr != ip.WithZone("").Unmap():
			t.Errorf("BlockedError.Addr = %s, want %s", be.Addr, ip.WithZone("").Unmap())
		}
	}
	if err := (netguard.Policy{AllowPrivate: true}).Check(ip); err != nil {
		t.Errorf("AllowPrivate: Check(%s) = %v, want nil", ip, err)
	}
}

func TestCheckInvalidAddr(t *testing.T) {
	if err := (netguard.Policy{}).Check(netip.Addr{}); !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("Check(zero Addr) = %v, want ErrBlocked", err)
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	err := netguard.Policy{}.Check(netip.MustParseAddr("169.254.169.254"))
	const want = "netguard: connection to 169.254.169.254 refused: link-local address"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
