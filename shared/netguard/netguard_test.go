package netguard_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/bucketlink/bucketlink/shared/netguard"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		addr      string
		wantRange string // "" means allowed
	}{
		// IPv4 unspecified 0.0.0.0/8.
		{"v4 unspecified first", "0.0.0.0", "unspecified"},
		{"v4 unspecified middle", "0.1.2.3", "unspecified"},
		{"v4 unspecified last", "0.255.255.255", "unspecified"},
		// Loopback 127.0.0.0/8.
		{"v4 loopback first", "127.0.0.0", "loopback"},
		{"v4 loopback localhost", "127.0.0.1", "loopback"},
		{"v4 loopback middle", "127.10.20.30", "loopback"},
		{"v4 loopback last", "127.255.255.255", "loopback"},
		// Link-local 169.254.0.0/16.
		{"v4 link-local first", "169.254.0.0", "link-local"},
		{"v4 link-local metadata", "169.254.169.254", "link-local"},
		{"v4 link-local ECS metadata", "169.254.170.2", "link-local"},
		{"v4 link-local last", "169.254.255.255", "link-local"},
		// Private.
		{"10/8 first", "10.0.0.0", "private"},
		{"10/8 middle", "10.20.30.40", "private"},
		{"10/8 last", "10.255.255.255", "private"},
		{"172.16/12 first", "172.16.0.0", "private"},
		{"172.16/12 middle", "172.20.1.1", "private"},
		{"172.16/12 last", "172.31.255.255", "private"},
		{"192.168/16 first", "192.168.0.0", "private"},
		{"192.168/16 middle", "192.168.1.1", "private"},
		{"192.168/16 last", "192.168.255.255", "private"},
		// Carrier-grade NAT 100.64.0.0/10.
		{"CGNAT first", "100.64.0.0", "carrier-grade NAT"},
		{"CGNAT middle", "100.100.100.200", "carrier-grade NAT"},
		{"CGNAT last", "100.127.255.255", "carrier-grade NAT"},
		// Multicast 224.0.0.0/4.
		{"v4 multicast first", "224.0.0.0", "multicast"},
		{"v4 multicast middle", "232.1.2.3", "multicast"},
		{"v4 multicast last", "239.255.255.255", "multicast"},
		// Reserved 240.0.0.0/4 and broadcast.
		{"reserved first", "240.0.0.0", "reserved"},
		{"reserved middle", "250.1.2.3", "reserved"},
		{"reserved last before broadcast", "255.255.255.254", "reserved"},
		{"broadcast", "255.255.255.255", "broadcast"},
		// IETF protocol assignments 192.0.0.0/24.
		{"IETF first", "192.0.0.0", "IETF protocol assignment"},
		{"IETF middle", "192.0.0.170", "IETF protocol assignment"},
		{"IETF last", "192.0.0.255", "IETF protocol assignment"},
		// Benchmarking 198.18.0.0/15.
		{"benchmarking first", "198.18.0.0", "benchmarking"},
		{"benchmarking middle", "198.18.200.1", "benchmarking"},
		{"benchmarking last", "198.19.255.255", "benchmarking"},

		// IPv6.
		{"v6 unspecified", "::", "unspecified"},
		{"v6 loopback", "::1", "loopback"},
		{"v6 link-local first", "fe80::", "link-local"},
		{"v6 link-local middle", "fe80::1", "link-local"},
		{"v6 link-local with zone", "fe80::1%eth0", "link-local"},
		{"v6 link-local last", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
		{"v6 ULA first", "fc00::", "private"},
		{"v6 ULA middle", "fd00::2", "private"},
		{"v6 ULA last", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
		{"v6 AWS IMDS", "fd00:ec2::254", "private"},
		{"v6 multicast first", "ff00::", "multicast"},
		{"v6 multicast all-nodes", "ff02::1", "multicast"},
		{"v6 multicast last", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},

		// IPv4-mapped IPv6.
		{"mapped unspecified", "::ffff:0.0.0.0", "unspecified"},
		{"mapped loopback", "::ffff:127.0.0.1", "loopback"},
		{"mapped private", "::ffff:10.0.0.1", "private"},
		{"mapped metadata", "::ffff:169.254.169.254", "link-local"},
		{"mapped CGNAT", "::ffff:100.64.0.1", "carrier-grade NAT"},
		{"mapped multicast", "::ffff:224.0.0.1", "multicast"},
		{"mapped broadcast", "::ffff:255.255.255.255", "broadcast"},
		{"mapped reserved", "::ffff:240.0.0.1", "reserved"},
		{"mapped IETF", "::ffff:192.0.0.8", "IETF protocol assignment"},
		{"mapped benchmarking", "::ffff:198.18.0.1", "benchmarking"},
		{"mapped hex form", "::ffff:7f00:1", "loopback"},
		{"mapped public", "::ffff:8.8.8.8", ""},

		// NAT64 64:ff9b::/96 with an embedded IPv4 address.
		{"NAT64 loopback", "64:ff9b::127.0.0.1", "NAT64 loopback"},
		{"NAT64 metadata", "64:ff9b::169.254.169.254", "NAT64 link-local"},
		{"NAT64 private", "64:ff9b::a00:1", "NAT64 private"},
		{"NAT64 unspecified", "64:ff9b::", "NAT64 unspecified"},
		{"NAT64 broadcast", "64:ff9b::ffff:ffff", "NAT64 broadcast"},
		{"NAT64 public", "64:ff9b::8.8.8.8", ""},
		// 6to4 2002::/16: IPv4 address in bits 16..47.
		{"6to4 loopback", "2002:7f00:1::", "6to4 loopback"},
		{"6to4 private", "2002:c0a8:101::1", "6to4 private"},
		{"6to4 metadata", "2002:a9fe:a9fe::", "6to4 link-local"},
		{"6to4 unspecified", "2002::", "6to4 unspecified"},
		{"6to4 last", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "6to4 broadcast"},
		{"6to4 public", "2002:808:808::1", ""},

		// Allowed public addresses, including neighbours of blocked ranges.
		{"google dns", "8.8.8.8", ""},
		{"cloudflare dns", "1.1.1.1", ""},
		{"cloudflare dns v6", "2606:4700:4700::1111", ""},
		{"google dns v6", "2001:4860:4860::8888", ""},
		{"before 10/8", "9.255.255.255", ""},
		{"after 10/8", "11.0.0.0", ""},
		{"before CGNAT", "100.63.255.255", ""},
		{"after CGNAT", "100.128.0.0", ""},
		{"before loopback", "126.255.255.255", ""},
		{"after loopback", "128.0.0.0", ""},
		{"after link-local", "169.255.0.0", ""},
		{"before 172.16/12", "172.15.255.255", ""},
		{"after 172.16/12", "172.32.0.0", ""},
		{"after IETF", "192.0.1.0", ""},
		{"before benchmarking", "198.17.255.255", ""},
		{"after benchmarking", "198.20.0.0", ""},
		{"before multicast", "223.255.255.255", ""},
		{"AWS S3 v6", "2600:1f18::1", ""},
		{"before ULA", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"before link-local v6", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"after link-local v6", "fec0::1", ""},
		{"::2", "::2", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			err := netguard.Policy{}.Check(ip)
			if tc.wantRange == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", ip, err)
				}
			} else {
				var be *netguard.BlockedError
				if !errors.As(err, &be) {
					t.Fatalf("Check(%s) = %v, want a *BlockedError", ip, err)
				}
				if be.Range != tc.wantRange {
					t.Errorf("Check(%s) range = %q, want %q", ip, be.Range, tc.wantRange)
				}
				if !errors.Is(err, netguard.ErrBlocked) {
					t.Errorf("Check(%s): errors.Is(err, ErrBlocked) is false", ip)
				}
				if be.Addr != ip.WithZone("").Unmap() {
					t.Errorf("BlockedError.Addr = %s, want %s", be.Addr, ip.WithZone("").Unmap())
				}
			}
			if err := (netguard.Policy{AllowPrivate: true}).Check(ip); err != nil {
				t.Errorf("AllowPrivate: Check(%s) = %v, want nil", ip, err)
			}
		})
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
