package netguard_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/bucketlink/bucketlink/shared/netguard"
)

func ExamplePolicy_Check() {
	var p netguard.Policy // the production policy
	for _, s := range []string{"169.254.169.254", "::ffff:127.0.0.1", "8.8.8.8"} {
		err := p.Check(netip.MustParseAddr(s))
		var be *netguard.BlockedError
		if errors.As(err, &be) {
			fmt.Printf("%s: blocked (%s)\n", s, be.Range)
		} else {
			fmt.Printf("%s: allowed\n", s)
		}
	}
	// Output:
	// 169.254.169.254: blocked (link-local)
	// ::ffff:127.0.0.1: blocked (loopback)
	// 8.8.8.8: allowed
}
