package storageconfig

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Patch is a decoded PATCH request: the fields to change, nil for those
// left alone. The name, the re-verification interval and the access mode
// change as given; the provider's fields (bucket, region, prefix,
// endpoint, credentials, auth method) are checked against the stored
// config by ParsePatchFor, which sets Settings and Credentials (see
// rotate.go). The provider cannot change (make a new config instead).
type Patch struct {
	// Name is the new name, trimmed.
	Name *string
	// ReverifyInterval is the new interval; a pointer to 0 switches
	// re-verification off (reverify_interval_seconds: null).
	ReverifyInterval *time.Duration
	// AccessMode is the new access mode (access_mode; null is the
	// default, read_write).
	AccessMode *AccessMode
	// CORSOrigins is the config's new cors_origins when SetCORSOrigins:
	// nil (null) for the operator's origins, empty for none.
	CORSOrigins    []string
	SetCORSOrigins bool
	// Settings are the config's new provider settings, made of the stored
	// ones and the request's provider fields (ParsePatchFor); nil when
	// they do not change.
	Settings Settings
	// Credentials are the new credentials of a rotation (ParsePatchFor);
	// nil when the stored ones stay.
	Credentials Credentials

	// in holds the request's provider fields (and provider), for
	// ParsePatchFor.
	in contract.Input
}

// patchFields are the fields a PATCH may set besides the provider's.
var patchFields = map[string]contract.Kind{
	"name":                contract.String,
	fieldReverifyInterval: contract.Int,
	fieldAccessMode:       contract.String,
	fieldCORSOrigins:      contract.Strings,
}

// ParsePatch decodes and validates the fields of a PATCH request that do
// not depend on the stored config. Like ParseCreate, it reports every
// field error at once as errcode.FieldErrors: an unknown field as
// unknown, a null name as not allowed. An empty object is a valid patch
// that changes nothing. The provider fields are kept for ParsePatchFor,
// which checks them against the config; with field errors, the patch
// returned holds what could be read, so that ParsePatchFor adds its own.
func ParsePatch(body []byte) (Patch, error) {
	in, errs := contract.DecodeObject(body, createFields)
	if _, bad := errs[errcode.NonField]; bad {
		return Patch{}, errs
	}
	p := Patch{in: in}
	switch {
	case in.Null["name"]:
		errs.Add("name", "This field may not be null.")
	case in.Has("name"):
		name := checkName(errs, in.Str["name"], true)
		p.Name = &name
	}
	switch {
	case in.Null[fieldReverifyInterval]:
		p.ReverifyInterval = new(time.Duration)
	case in.Has(fieldReverifyInterval):
		d := parseInterval(errs, in.Num[fieldReverifyInterval])
		p.ReverifyInterval = &d
	}
	if m, set := parseAccessMode(errs, in); set {
		p.AccessMode = &m
	}
	p.CORSOrigins, p.SetCORSOrigins = parseCORSOrigins(errs, in)
	if err := errs.Err(); err != nil {
		return p, err
	}
	return p, nil
}

// Empty reports whether p changes nothing.
func (p Patch) Empty() bool {
	return p.Name == nil && p.ReverifyInterval == nil && p.AccessMode == nil && p.Settings == nil && p.Credentials == nil && !p.SetCORSOrigins
}

// Apply makes the changes of p to c at now, rescheduling when the interval
// changes (SetReverifyInterval), and reports whether anything changed; only
// then is UpdatedAt set to now. A change from read_only to read_write
// clears IsVerified: the last test did not check writing; the next test
// (or re-verification) does. A change to read_only keeps it: the last
// test checked more than is now needed.
func (p Patch) Apply(c *Config, now time.Time) (changed bool) {
	if p.Name != nil && *p.Name != c.Name {
		c.Name, changed = *p.Name, true
	}
	if p.ReverifyInterval != nil && *p.ReverifyInterval != c.ReverifyInterval {
		c.SetReverifyInterval(*p.ReverifyInterval, now)
		changed = true
	}
	if p.AccessMode != nil && *p.AccessMode != c.Mode() {
		if c.ReadOnly() {
			c.IsVerified = false
		}
		c.AccessMode, changed = *p.AccessMode, true
	}
	if p.Settings != nil {
		c.Settings, changed = p.Settings, true
	}
	if p.SetCORSOrigins && !sameOrigins(p.CORSOrigins, c.CORSOrigins) {
		c.CORSOrigins, changed = p.CORSOrigins, true
	}
	if changed {
		c.UpdatedAt = now
	}
	return changed
}
