package netguard

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
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
// included, goes through p's guarded dialer, and whose every answer is
// read under the limits of limit.go (MaxErrorBodyBytes, MaxBodyBytes,
// MaxResponseHeaderBytes): past one, the read or the request fails with a
// *TooLargeError. Unless p.AllowPrivate, it refuses plain http: a request
// to an http:// URL fails with a *PlainHTTPError before anything is
// dialled (see PlainHTTPError for why). It never uses a proxy (the
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY environment is ignored: a proxy
// would dial on our behalf and bypass the check). It has no overall
// Timeout; bound each request with its ctx deadline. The error of a
// refused request wraps a *BlockedError or a *PlainHTTPError.
func (p Policy) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     p.transport(),
		CheckRedirect: p.checkRedirect,
	}
}

// Transport is the http.RoundTripper of the clients HTTPClient builds: an
// *http.Transport that dials through the guarded dialer, behind the
// plain-http refusal and the answer limits.
type Transport struct {
	policy Policy
	base   *http.Transport
}

func (p Policy) transport() *Transport {
	return &Transport{policy: p, base: &http.Transport{
		Proxy:                  nil,
		DialContext:            p.Dialer(dialTimeout).DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		IdleConnTimeout:        idleConnTimeout,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}}
}

// RoundTrip implements http.RoundTripper: it refuses what CheckURL
// refuses, sends the request, and hands back the answer with its body
// limited by its status.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if headersTooLarge(err) {
			return nil, &TooLargeError{Part: PartHeaders, Limit: MaxResponseHeaderBytes, Host: req.URL.Host}
		}
		return nil, err
	}
	limitBody(resp, req)
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the transport, for
// http.Client.CloseIdleConnections.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// PolicyOf returns the Policy of a client that HTTPClient built (or a copy
// of one: its Transport is a *Transport), and false for any other client.
// Drivers use it to refuse, before any I/O, what the client would refuse
// on the first request.
func PolicyOf(c *http.Client) (Policy, bool) {
	if c == nil {
		return Policy{}, false
	}
	t, ok := c.Transport.(*Transport)
	if !ok {
		return Policy{}, false
	}
	return t.policy, true
}

// ErrPlainHTTP matches (errors.Is) every *PlainHTTPError.
var ErrPlainHTTP = errors.New("netguard: plain http refused")

// PlainHTTPError reports a request to an http:// URL, refused unless the
// policy allows private endpoints. Every request to a storage endpoint
// carries a credential an eavesdropper could use: an Azure SAS token is a
// bearer secret in the query of every request; a presigned URL (which the
// bucket-verify API hands to a browser, and which bucketlink's clients
// sign for any stored config) is a bearer URL naming the endpoint, so a
// plain-http endpoint gives out bearer URLs in clear; and a Shared Key or
// SigV4 signature, which does not reveal the secret, still lets an
// on-path attacker replay the request for about 15 minutes and read or
// change what the bucket answers. Plain http is therefore refused for
// every endpoint, S3-compatible ones included, unless the operator allows
// private endpoints (a development switch: emulators such as MinIO and
// Azurite serve plain http on loopback).
type PlainHTTPError struct {
	// Host is the host[:port] of the refused URL (never its query, which
	// may hold a SAS token).
	Host string
}

// Error implements error.
func (e *PlainHTTPError) Error() string {
	return "netguard: refusing plain http to " + e.Host + ": storage requests carry credentials and go over https only"
}

// Is reports whether target is ErrPlainHTTP.
func (e *PlainHTTPError) Is(target error) bool { return target == ErrPlainHTTP }

// PlainHTTPRefused marks the error for packages that recognise it without
// importing netguard (verify).
func (e *PlainHTTPError) PlainHTTPRefused() bool { return true }

// RetryableError tells the AWS SDK's retryer not to try again.
func (e *PlainHTTPError) RetryableError() bool { return false }

// NonRetriable tells the Azure SDK's retry policy not to try again.
func (e *PlainHTTPError) NonRetriable() {}

// CheckURL returns nil if p lets a request to u be sent, else the error
// HTTPClient's transport fails it with before dialling: a *BlockedError
// for a host that is a blocked IP literal, a *PlainHTTPError for any
// scheme but https. Host names are checked when dialled, after
// resolution. With AllowPrivate it always returns nil.
func (p Policy) CheckURL(u *url.URL) error {
	if p.AllowPrivate {
		return nil
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := p.Check(ip); err != nil {
			return err
		}
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return &PlainHTTPError{Host: u.Host}
	}
	return nil
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
