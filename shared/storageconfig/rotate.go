package storageconfig

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Editing a stored config's provider fields, and rotating its credentials.
//
// A PATCH may carry any provider field of the config's provider. The
// fields it gives replace the stored ones (null clears an optional one),
// and the result is parsed as a create's fields would be, by the
// provider's own Parse, so that a PATCH accepts exactly what a create
// does and reports the same field errors:
//
//   - A PATCH that gives any credential (a WriteOnly field) or Auth field
//     is a rotation: the stored authentication is dropped and the PATCH's
//     replaces it whole, in the stored auth method unless the PATCH
//     switches it (s3_auth_method, gc_storage_auth_method). Its
//     credentials are Patch.Credentials.
//   - Otherwise (a new bucket, region, prefix or endpoint) the stored
//     credentials stay, and the caller runs the checks with them.
//
// The provider cannot change (provider: a different one answers 400), nor
// a Fixed field (the Azure storage account); both name a different
// config.

// ParsePatchFor decodes a PATCH request of the stored config c: the
// fields ParsePatch reads, and the provider fields checked against c (see
// above). Every field error is reported at once, as errcode.FieldErrors.
// When the provider fields leave c's settings as they are and carry no
// credentials, Settings stays nil: nothing needs checking.
func ParsePatchFor(body []byte, c *Config) (Patch, error) {
	p, err := ParsePatch(body)
	var errs errcode.FieldErrors
	switch {
	case err == nil:
		errs = errcode.FieldErrors{}
	case !errors.As(err, &errs) || len(errs[errcode.NonField]) > 0:
		return Patch{}, err
	}
	p.resolve(c, errs)
	if err := errs.Err(); err != nil {
		return Patch{}, err
	}
	return p, nil
}

// patchesField reports whether in gives (or nulls) field f.
func patchesField(in contract.Input, f string) bool { return in.Has(f) || in.Null[f] }

// patchValue is the value in gives field f, as Settings.Wire writes
// values: a string, a bool, an int64, or nil for null.
func patchValue(in contract.Input, f contract.Field) any {
	switch {
	case in.Null[f.Name]:
		return nil
	case f.Kind == contract.Bool:
		return in.Bool[f.Name]
	case f.Kind == contract.Int:
		return in.Num[f.Name]
	}
	return in.Str[f.Name]
}

// Rotates reports whether p carries new credentials (ParsePatchFor).
func (p Patch) Rotates() bool { return p.Credentials != nil }

// resolve checks the provider fields of p against c, adding errors to
// errs, and sets p.Settings and p.Credentials.
func (p *Patch) resolve(c *Config, errs errcode.FieldErrors) {
	in := p.in
	if name, ok := in.Str["provider"]; ok && Provider(name) != c.Provider {
		errs.Add("provider", "The provider of a storage config cannot be changed (it is %s); create a new storage config instead.", c.Provider)
	} else if in.Null["provider"] {
		errs.Add("provider", "This field may not be null.")
	}
	prov, ok := provider.Lookup(string(c.Provider))
	if !ok || c.Settings == nil {
		errs.Add(errcode.NonField, "This storage config's provider settings cannot be edited.")
		return
	}
	stored := c.Settings.Wire()
	given, rotation := false, false
	for _, f := range prov.Fields() {
		if !patchesField(in, f.Name) || !provider.Accepts(prov, f.Name) {
			continue
		}
		given = true
		// An Auth field sent back as stored (a client echoing the
		// config) rotates nothing; a credential always does.
		changes := patchValue(in, f) != stored[f.Name]
		rotation = rotation || f.WriteOnly || f.Auth && changes
		if f.Fixed && changes {
			errs.Add(f.Name, "This field cannot be changed: the credentials belong to it. Create a new storage config instead.")
		}
	}
	rejectForeign(errs, in, prov) // fields of other providers, as on create
	if !given {
		return
	}

	fields := stored
	if rotation {
		for _, f := range prov.Fields() {
			if f.Auth && !f.AuthMethod {
				delete(fields, f.Name)
			}
		}
	}
	for _, f := range prov.Fields() {
		if patchesField(in, f.Name) && provider.Accepts(prov, f.Name) {
			fields[f.Name] = patchValue(in, f)
		}
	}
	settings, creds, fe := ParseSettings(c.Provider, fields)
	for f, msgs := range fe {
		if !rotation && writeOnly(prov, f) {
			continue // the stored credentials, which this PATCH keeps
		}
		errs[f] = append(errs[f], msgs...)
	}
	if rotation {
		p.Settings, p.Credentials = settings, creds
		return
	}
	if !sameSettings(settings, c.Settings) {
		p.Settings = settings
	}
}

// writeOnly reports whether f is a credential field of prov.
func writeOnly(prov contract.Provider, name string) bool {
	for _, f := range prov.Fields() {
		if f.Name == name {
			return f.WriteOnly
		}
	}
	return false
}

// sameSettings reports whether a and b are the same settings document.
func sameSettings(a, b Settings) bool {
	da, errA := json.Marshal(a)
	db, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}
