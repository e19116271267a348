package storageconfig

import (
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// coreFields are the request fields of every config.
var coreFields = map[string]contract.Kind{
	"name":                contract.String,
	"provider":            contract.String,
	fieldReverifyInterval: contract.Int,
	fieldAccessMode:       contract.String,
	fieldCORSOrigins:      contract.Strings,
}

// createFields are the fields a create may carry: the core ones and every
// provider's.
var createFields = func() map[string]contract.Kind {
	out := map[string]contract.Kind{}
	for f, k := range coreFields {
		out[f] = k
	}
	for _, f := range provider.Fields() {
		out[f.Name] = f.Kind
	}
	return out
}()

// ParseCreate decodes and validates a create request. It reports every
// field error at once, as errcode.FieldErrors. On success the returned Config
// has its user-given fields set and normalised (UID, org and times are the
// caller's to set); the credentials are returned apart from it.
func ParseCreate(body []byte) (*Config, Credentials, error) {
	in, errs := contract.DecodeObject(body, createFields)
	if _, bad := errs[errcode.NonField]; bad {
		return nil, nil, errs
	}
	c := &Config{}
	c.Name = checkName(errs, in.Str["name"], in.Has("name"))
	c.ReverifyInterval = checkReverifyInterval(errs, in)
	c.AccessMode, _ = parseAccessMode(errs, in)
	c.CORSOrigins, _ = parseCORSOrigins(errs, in)

	name, ok := in.Str["provider"]
	p, known := provider.Lookup(name)
	switch {
	case !ok:
		errs.Add("provider", "This field is required.")
		return nil, nil, errs
	case !known:
		errs.Add("provider", "Unsupported provider: %s", truncate(name, 64))
		return nil, nil, errs
	}
	c.Provider = Provider(name)
	rejectForeign(errs, in, p)
	settings, creds := p.Parse(in, errs)
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	c.Settings = settings
	return c, creds, nil
}

// ParseSettings validates the provider fields of fields (wire names to
// values, as a create request would give them) for the provider named
// name, and returns the settings and credentials it read, with the errors
// on its fields; the settings are set as far as they could be read even
// with errors. It is how the bucket-verify API and a PATCH check settings
// made of a stored config's and a request's fields together.
func ParseSettings(name Provider, fields map[string]any) (Settings, Credentials, errcode.FieldErrors) {
	errs := errcode.FieldErrors{}
	p, ok := provider.Lookup(string(name))
	if !ok {
		errs.Add("provider", "Unsupported provider: %s", truncate(string(name), 64))
		return nil, nil, errs
	}
	in := contract.Input{Str: map[string]string{}, Bool: map[string]bool{}, Num: map[string]int64{}, Null: map[string]bool{}}
	for k, v := range fields {
		switch v := v.(type) {
		case string:
			in.Str[k] = v
		case bool:
			in.Bool[k] = v
		case int64:
			in.Num[k] = v
		case nil:
			in.Null[k] = true
		}
	}
	rejectForeign(errs, in, p)
	s, creds := p.Parse(in, errs)
	return s, creds, errs
}

// rejectForeign answers 400 on any field that does not apply to the
// provider, so that a secret is never silently accepted and dropped.
func rejectForeign(errs errcode.FieldErrors, in contract.Input, p contract.Provider) {
	for f := range createFields {
		if _, core := coreFields[f]; core || !in.Has(f) {
			continue
		}
		if !provider.Accepts(p, f) {
			errs.Add(f, "This field does not apply to provider %s; remove it.", p.Name())
		}
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
