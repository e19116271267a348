package azrules

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Endpoint returns the blob endpoint of account, with a trailing slash:
// https://{account}.blob.core.windows.net/ when override is empty,
// otherwise override with its scheme and host lower-cased, any query or
// fragment dropped and a trailing slash added (Azurite's path-style
// http://127.0.0.1:10000/{account} becomes .../{account}/). This is the
// endpoint the bucket-verify API reports. An override that does not parse
// is returned trimmed; ValidateEndpoint rejects it.
func Endpoint(account, override string) string {
	override = strings.TrimSpace(override)
	if override == "" {
		return "https://" + account + ".blob.core.windows.net/"
	}
	u, err := url.Parse(override)
	if err != nil {
		return override
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String()
}

// ValidateEndpoint checks an endpoint override: an absolute http or https
// URL with a host and no user info, query or fragment. The error wraps
// ErrBadEndpoint.
func ValidateEndpoint(s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return ErrBadEndpoint
	}
	return nil
}

// ValidateAccountName checks Azure's storage account naming rule: 3 to 24
// characters, lower-case letters and digits only. The error wraps
// ErrBadAccountName and says which rule failed.
func ValidateAccountName(name string) error {
	if n := len(name); n < 3 || n > 24 {
		return fmt.Errorf("%w: it must be 3 to 24 characters long", ErrBadAccountName)
	}
	for i := 0; i < len(name); i++ {
		if !isLowerAlnum(name[i]) {
			return fmt.Errorf("%w: it may contain only lower-case letters and digits", ErrBadAccountName)
		}
	}
	return nil
}

// specialContainers are the names Azure gives containers it creates itself
// (the root container, the static website and the analytics logs), which
// break the ordinary rule.
var specialContainers = map[string]bool{"$root": true, "$web": true, "$logs": true}

// ValidateContainerName checks Azure's container naming rule: 3 to 63
// characters, lower-case letters, digits and hyphens, starting and ending
// with a letter or digit, without two hyphens in a row; or one of the
// special containers $root, $web and $logs. The error wraps
// ErrBadContainerName and says which rule failed.
func ValidateContainerName(name string) error {
	if specialContainers[name] {
		return nil
	}
	if n := len(name); n < 3 || n > 63 {
		return fmt.Errorf("%w: it must be 3 to 63 characters long", ErrBadContainerName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLowerAlnum(c) && c != '-' {
			return fmt.Errorf("%w: it may contain only lower-case letters, digits and hyphens", ErrBadContainerName)
		}
	}
	switch {
	case !isLowerAlnum(name[0]) || !isLowerAlnum(name[len(name)-1]):
		return fmt.Errorf("%w: it must start and end with a letter or digit", ErrBadContainerName)
	case strings.Contains(name, "--"):
		return fmt.Errorf("%w: it may not contain two hyphens in a row", ErrBadContainerName)
	}
	return nil
}

func isLowerAlnum(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }

// Validation errors; each detailed error wraps one of them.
var (
	ErrBadEndpoint      = errors.New("azureblob: the endpoint must be an absolute http or https URL without query, fragment or user info")
	ErrBadAccountName   = errors.New("azureblob: invalid storage account name")
	ErrBadContainerName = errors.New("azureblob: invalid container name")
)
