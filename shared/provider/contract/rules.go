package contract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Required is the message of a required field left out.
const Required = "This field is required."

// MaxPrefixLen bounds a key prefix.
const MaxPrefixLen = 1024

// NormalizePrefix returns p without leading slashes and with one trailing
// slash ("" stays ""), or a message saying what is wrong with it.
func NormalizePrefix(p string) (string, string) {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "", ""
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	switch {
	case len(p) > MaxPrefixLen:
		return "", "Ensure the prefix has no more than 1024 bytes."
	case !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0:
		return "", "The prefix may not contain control characters or invalid UTF-8."
	case strings.Contains(p, "//"):
		return "", "The prefix may not contain empty path segments (\"//\")."
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return "", "The prefix may not contain \".\" or \"..\" segments."
		}
	}
	return p, ""
}

// NotPrintableASCII reports a rune that is not printable ASCII or is a
// space.
func NotPrintableASCII(r rune) bool { return r <= ' ' || r > '~' }

// IsAlnum reports a lower-case ASCII letter or digit.
func IsAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// Optional returns a pointer to s, nil for "": a wire value that is null
// when absent.
func Optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// HostOf returns the lower-case host of an endpoint URL (or bare host).
func HostOf(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	if _, rest, ok := strings.Cut(e, "://"); ok {
		e = rest
	}
	e, _, _ = strings.Cut(e, "/")
	e, _, _ = strings.Cut(e, ":")
	return e
}
