// Package guard refuses, before any I/O, what netguard's client would
// refuse on a driver's first request: every provider's opener calls it.
package guard

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

// Refused returns the error hc would fail the first request to endpoint
// with, when hc is a netguard client (netguard.Policy.CheckURL), as a
// *blob.Error with code Unreachable; nil for an endpoint it would send to,
// for "" (the provider's own https endpoint) and for another client.
func Refused(hc *http.Client, endpoint string) error {
	p, ok := netguard.PolicyOf(hc)
	if !ok || endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil // the driver reports an endpoint it cannot use
	}
	if err := p.CheckURL(u); err != nil {
		return &blob.Error{Code: blob.Unreachable, Op: "open", Err: err}
	}
	return nil
}

// ErrBadOverride is returned by an opener when an operator endpoint
// override is not an absolute http or https URL.
var ErrBadOverride = errors.New("anyblob: endpoint override must be an absolute http or https URL")
