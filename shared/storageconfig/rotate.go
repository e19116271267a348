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
//   - A PATCH that gives any credential (a WriteOnly field), or an Auth
//     field with a new value, is a rotation; its credentials are
//     Patch.Credentials. It is read in the stored auth method, with the
//     stored Auth fields it does not replace (a new role ARN alone, a
//     service principal's new secret alone). A PATCH that names another
//     method drops the stored Auth fields: its own are the method's. One
//     that names none and whose credentials do not fit the stored method
//     is read as a create's fields would be, without the stored method
//     and Auth fields (an Azure SAS token in place of the account key,
//     keys in place of a role).
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
	given, rotation, newMethod, methodGiven := false, false, false, false
	for _, f := range prov.Fields() {
		if !patchesField(in, f.Name) || !provider.Accepts(prov, f.Name) {
			continue
		}
		given = true
		// An Auth field sent back as stored (a client echoing the
		// config) rotates nothing; a credential always does.
		changes := patchValue(in, f) != stored[f.Name]
		rotation = rotation || f.WriteOnly || f.Auth && changes
		methodGiven = methodGiven || f.AuthMethod
		newMethod = newMethod || f.AuthMethod && changes
		if f.Fixed && changes {
			errs.Add(f.Name, "This field cannot be changed: the credentials belong to it. Create a new storage config instead.")
		}
	}
	rejectForeign(errs, in, prov) // fields of other providers, as on create
	if !given {
		return
	}
	if !rotation {
		settings, _, fe := ParseSettings(c.Provider, p.merged(prov, stored, false, false))
		for f, msgs := range fe {
			if !writeOnly(prov, f) { // the stored credentials, which this PATCH keeps
				errs[f] = append(errs[f], msgs...)
			}
		}
		if !sameSettings(settings, c.Settings) {
			p.Settings = settings
		}
		return
	}
	// A rotation in the stored method (a new role ARN, a new secret of
	// the same principal), unless the PATCH names another method; if its
	// credentials do not fit the stored method and it names none, they
	// are read as a create would read them (an Azure SAS token in place
	// of the account key, keys in place of a role).
	settings, creds, fe := ParseSettings(c.Provider, p.merged(prov, stored, newMethod, false))
	if !newMethod && !methodGiven && authErrors(prov, fe) {
		if s2, c2, fe2 := ParseSettings(c.Provider, p.merged(prov, stored, true, true)); !authErrors(prov, fe2) {
			settings, creds, fe = s2, c2, fe2
		}
	}
	for f, msgs := range fe {
		errs[f] = append(errs[f], msgs...)
	}
	p.Settings, p.Credentials = settings, creds
}

// merged returns the stored wire fields with the PATCH's over them.
// dropAuth leaves out the stored Auth fields but the method, and
// dropMethod the method too.
func (p *Patch) merged(prov contract.Provider, stored map[string]any, dropAuth, dropMethod bool) map[string]any {
	fields := make(map[string]any, len(stored))
	for _, f := range prov.Fields() {
		v, ok := stored[f.Name]
		switch {
		case !ok:
		case f.AuthMethod && dropMethod, f.Auth && !f.AuthMethod && dropAuth:
		default:
			fields[f.Name] = v
		}
		if patchesField(p.in, f.Name) && provider.Accepts(prov, f.Name) {
			fields[f.Name] = patchValue(p.in, f)
		}
	}
	return fields
}

// authErrors reports errors on the authentication's fields.
func authErrors(prov contract.Provider, fe errcode.FieldErrors) bool {
	for _, f := range prov.Fields() {
		if (f.Auth || f.WriteOnly) && len(fe[f.Name]) > 0 {
			return true
		}
	}
	return false
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
