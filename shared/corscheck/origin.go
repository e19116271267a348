package corscheck

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseOrigin returns the serialization of origin that a browser sends in
// its Origin header (RFC 6454 section 6.1, as the Fetch standard uses it):
// the lower-case scheme and host, and the port unless it is the scheme's
// default, with no path. The origin must be an http or https URL of a host
// in ASCII (an internationalised name in its punycode form), with nothing
// but an optional "/" after the host: a path, query, fragment or user
// name would never be part of an Origin header, and "*" names no origin.
func ParseOrigin(origin string) (string, error) {
	s := strings.TrimSpace(origin)
	if s == "" {
		return "", fmt.Errorf("an origin is empty; name it as scheme://host[:port], e.g. https://app.example.com")
	}
	for _, r := range s {
		if r > 0x7e || r < 0x21 {
			return "", fmt.Errorf("origin %q has a character that is not printable ASCII; write an internationalised host name in its punycode (xn--) form", origin)
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("origin %q is not scheme://host[:port], e.g. https://app.example.com", origin)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("origin %q must start with https:// or http://", origin)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return "", fmt.Errorf("origin %q has more than scheme://host[:port]; a browser's Origin header carries no user, path, query or fragment", origin)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" || strings.ContainsAny(host, "*%") {
		return "", fmt.Errorf("origin %q has no valid host", origin)
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// ParseOrigins parses a comma-separated list of origins (the form of
// BUCKETLINK_APP_ORIGINS and of a repeated or comma-separated flag),
// serialising each with ParseOrigin and dropping duplicates; the order is
// kept. Empty items are ignored, so "" gives no origins and no error.
func ParseOrigins(list ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, l := range list {
		for _, item := range strings.Split(l, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			o, err := ParseOrigin(item)
			if err != nil {
				return nil, err
			}
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out, nil
}
