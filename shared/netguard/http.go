package netguard

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"time"
)

// Transport and redirect settings of HTTPClient.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	maxIdleConns        = 100
	maxIdleConnsPerHost = 16
	maxRedirects        = 10
)

// HTTPClient returns a new *http.Client whose every connection, redirects
// included, goes through p's guarded dialer. It never uses a proxy (the
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY environment is ignored: a proxy would
// dial on our behalf and bypass the check). It has no overall Timeout;
// bound each request with its ctx deadline. The error of a refused request
// wraps a *BlockedError.
func (p Policy) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     p.transport(),
		CheckRedirect: p.checkRedirect,
	}
}

func (p Policy) transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.Dialer(dialTimeout).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		IdleConnTimeout:       idleConnTimeout,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
	}
}

// checkRedirect caps redirects and refuses a redirect to a blocked literal
// IP before dialling; redirects to hostnames are checked by the dialer.
func (p Policy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("netguard: stopped after %d redirects", maxRedirects)
	}
	if ip, err := netip.ParseAddr(req.URL.Hostname()); err == nil {
		if err := p.Check(ip); err != nil {
			return fmt.Errorf("netguard: redirect to %s: %w", req.URL.Redacted(), err)
		}
	}
	return nil
}
