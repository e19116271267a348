package storageconfig

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Patch is a decoded PATCH request: the fields to change, nil for those
// left alone. Only the name, the re-verification interval and the access
// mode can change; a config's bucket and credentials are fixed at create
// (make a new config instead).
type Patch struct {
	// Name is the new name, trimmed.
	Name *string
	// ReverifyInterval is the new interval; a pointer to 0 switches
	// re-verification off (reverify_interval_seconds: null).
	ReverifyInterval *time.Duration
	// AccessMode is the new access mode (access_mode; null is the
	// default, read_write).
	AccessMode *AccessMode
}

// patchFields are the fields a PATCH may set.
var patchFields = map[string]contract.Kind{
	"name":                contract.String,
	fieldReverifyInterval: contract.Int,
	fieldAccessMode:       contract.String,
}

// ParsePatch decodes and validates a PATCH request. Like ParseCreate, it
// reports every field error at once as errcode.FieldErrors: a field of
// create that cannot change is named with a message saying so, an unknown
// field as unknown, a null name as not allowed. An empty object is a valid
// patch that changes nothing.
func ParsePatch(body []byte) (Patch, error) {
	known := make(map[string]contract.Kind, len(createFields))
	for f, k := range createFields {
		known[f] = k
	}
	in, errs := contract.DecodeObject(body, known)
	if _, bad := errs[errcode.NonField]; bad {
		return Patch{}, errs
	}
	for f := range createFields {
		if _, ok := patchFields[f]; ok {
			continue
		}
		if _, typeErr := errs[f]; in.Has(f) || in.Null[f] || typeErr {
			// Replaces any type error: the field cannot be sent at all.
			errs[f] = []string{"This field cannot be changed; create a new storage config instead."}
		}
	}
	var p Patch
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
	if err := errs.Err(); err != nil {
		return Patch{}, err
	}
	return p, nil
}

// Empty reports whether p changes nothing.
func (p Patch) Empty() bool { return p.Name == nil && p.ReverifyInterval == nil && p.AccessMode == nil }

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
	if changed {
		c.UpdatedAt = now
	}
	return changed
}
