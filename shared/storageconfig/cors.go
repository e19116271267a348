package storageconfig

import (
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// fieldCORSOrigins is the request and response field of a config's own
// app origins (additive): a list of origins, scheme://host[:port].
const fieldCORSOrigins = "cors_origins"

// MaxCORSOrigins is the most origins cors_origins may list: each costs
// two preflights per check.
const MaxCORSOrigins = 10

// maxOriginLen bounds one origin: a host name has at most 253 characters.
const maxOriginLen = 300

// AppOrigins returns the origins c's CORS check runs from: c's own
// (CORSOrigins) when it names them, even none, and operator otherwise (the
// operator's app origins).
func (c *Config) AppOrigins(operator []string) []string {
	if c.CORSOrigins != nil {
		return c.CORSOrigins
	}
	return operator
}

// parseCORSOrigins reads cors_origins of in: the origins, each serialised
// as a browser's Origin header (corscheck.ParseOrigin) without duplicates,
// and whether the request set the field. Null, like absence, is nil (the
// operator's origins); [] is a non-nil empty list (no CORS check).
func parseCORSOrigins(errs errcode.FieldErrors, in contract.Input) ([]string, bool) {
	list, ok := in.List[fieldCORSOrigins]
	if !ok {
		return nil, in.Null[fieldCORSOrigins]
	}
	if len(list) > MaxCORSOrigins {
		errs.Add(fieldCORSOrigins, "List at most %d origins.", MaxCORSOrigins)
		return nil, false
	}
	out := []string{}
	for _, item := range list {
		if len(item) > maxOriginLen {
			errs.Add(fieldCORSOrigins, "An origin is at most %d characters: scheme://host[:port].", maxOriginLen)
			continue
		}
		o, err := corscheck.ParseOrigin(item)
		if err != nil {
			msg := err.Error()
			errs.Add(fieldCORSOrigins, "%s.", strings.ToUpper(msg[:1])+msg[1:])
			continue
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, true
}

// sameOrigins reports whether a and b name the same origins in the same
// order, telling nil (the operator's) from empty (none).
func sameOrigins(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}
