package storageconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// field decoders: each known request field and what it decodes into.
type fieldKind int

const (
	kindString fieldKind = iota
	kindBool
	kindInt
)

var createFields = map[string]fieldKind{
	"name":                         kindString,
	"provider":                     kindString,
	"s3_bucket_name":               kindString,
	"s3_bucket_region":             kindString,
	"s3_bucket_prefix":             kindString,
	"s3_access_key_id":             kindString,
	"s3_secret_access_key":         kindString,
	"s3_is_accelerated":            kindBool,
	"s3_cloudfront_domain":         kindString,
	"s3_cloudfront_public_key_id":  kindString,
	"s3_auth_method":               kindString,
	"s3_role_arn":                  kindString,
	"s3_endpoint_url":              kindString,
	"s3_use_path_style":            kindBool,
	"gc_storage_bucket_name":       kindString,
	"gc_storage_prefix":            kindString,
	"gc_storage_auth_json_content": kindString,
	"gc_storage_auth_method":       kindString,
	"gc_storage_hmac_access_id":    kindString,
	"gc_storage_hmac_secret":       kindString,
	"azure_account_name":           kindString,
	"azure_container_name":         kindString,
	"azure_prefix":                 kindString,
	"azure_account_key":            kindString,
	"azure_sas_token":              kindString,
	"azure_endpoint_url":           kindString,
	"reverify_interval_seconds":    kindInt,
}

// fieldsOf lists which fields apply to each provider (besides name and provider).
var fieldsOf = map[Provider][]string{
	ProviderAWSS3: {"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_access_key_id",
		"s3_secret_access_key", "s3_is_accelerated", "s3_cloudfront_domain", "s3_cloudfront_public_key_id",
		"s3_auth_method", "s3_role_arn"},
	ProviderS3Compatible: {"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_access_key_id",
		"s3_secret_access_key", "s3_auth_method", "s3_role_arn", "s3_endpoint_url", "s3_use_path_style"},
	ProviderGCStorage: {"gc_storage_bucket_name", "gc_storage_prefix", "gc_storage_auth_json_content",
		"gc_storage_auth_method", "gc_storage_hmac_access_id", "gc_storage_hmac_secret"},
	ProviderAzureBlob: {"azure_account_name", "azure_container_name", "azure_prefix", "azure_account_key",
		"azure_sas_token", "azure_endpoint_url"},
}

// input is a decoded request body: present fields only, nulls dropped
// (and listed in null, for the fields where null means something).
type input struct {
	str  map[string]string
	bool map[string]bool
	num  map[string]int64
	null map[string]bool
}

func (in input) has(f string) bool {
	_, s := in.str[f]
	_, b := in.bool[f]
	_, n := in.num[f]
	return s || b || n
}

// decodeObject decodes a JSON object field by field, so that every type
// error is reported on its own field and all at once.
func decodeObject(body []byte, known map[string]fieldKind) (input, errcode.FieldErrors) {
	errs := errcode.FieldErrors{}
	in := input{str: map[string]string{}, bool: map[string]bool{}, num: map[string]int64{}, null: map[string]bool{}}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		errs.Add(errcode.NonField, "%s", describeJSONError(err))
		return in, errs
	}
	if raw == nil {
		errs.Add(errcode.NonField, "The request body must be a JSON object.")
		return in, errs
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		errs.Add(errcode.NonField, "Malformed JSON: unexpected data after the JSON object.")
		return in, errs
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		kind, ok := known[k]
		if !ok {
			errs.Add(k, "Unknown field; remove it or check its spelling.")
			continue
		}
		if string(v) == "null" {
			in.null[k] = true
			continue
		}
		switch kind {
		case kindString:
			var s string
			if json.Unmarshal(v, &s) != nil {
				errs.Add(k, "Not a valid string.")
				continue
			}
			in.str[k] = s
		case kindBool:
			var b bool
			if json.Unmarshal(v, &b) != nil {
				errs.Add(k, "Must be a valid boolean (true or false).")
				continue
			}
			in.bool[k] = b
		case kindInt:
			var n int64
			if json.Unmarshal(v, &n) != nil {
				errs.Add(k, "A valid integer is required.")
				continue
			}
			in.num[k] = n
		}
	}
	return in, errs
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "The request body is empty; send a JSON object."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "Malformed JSON: the body ends before the JSON object does."
	case errors.As(err, &syn):
		return fmt.Sprintf("Malformed JSON at byte %d: %s.", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		return "The request body must be a JSON object."
	}
	return "Malformed JSON."
}

// ParseCreate decodes and validates a create request. It reports every
// field error at once, as errcode.FieldErrors. On success the returned Config
// has its user-given fields set and normalised (UID, org and times are the
// caller's to set); the credentials are returned apart from it.
func ParseCreate(body []byte) (*Config, Credentials, error) {
	in, errs := decodeObject(body, createFields)
	if _, bad := errs[errcode.NonField]; bad {
		return nil, Credentials{}, errs
	}
	c := &Config{}
	c.Name = checkName(errs, in.str["name"], in.has("name"))
	c.ReverifyInterval = checkReverifyInterval(errs, in)

	p, ok := in.str["provider"]
	switch {
	case !ok:
		errs.Add("provider", "This field is required.")
	case fieldsOf[Provider(p)] == nil:
		errs.Add("provider", "Unsupported provider: %s", truncate(p, 64))
	default:
		c.Provider = Provider(p)
		rejectForeign(errs, in, c.Provider)
	}
	var creds Credentials
	switch {
	case c.Provider.IsS3():
		creds = parseS3(errs, in, c)
	case c.Provider == ProviderGCStorage:
		creds = parseGCS(errs, in, c)
	case c.Provider == ProviderAzureBlob:
		creds = parseAzure(errs, in, c)
	default:
		return nil, Credentials{}, errs
	}
	if err := errs.Err(); err != nil {
		return nil, Credentials{}, err
	}
	return c, creds, nil
}

// rejectForeign answers 400 on any field that does not apply to the
// provider, so that a secret is never silently accepted and dropped.
func rejectForeign(errs errcode.FieldErrors, in input, p Provider) {
	allowed := map[string]bool{"name": true, "provider": true, fieldReverifyInterval: true}
	for _, f := range fieldsOf[p] {
		allowed[f] = true
	}
	for f := range createFields {
		if in.has(f) && !allowed[f] {
			errs.Add(f, "This field does not apply to provider %s; remove it.", p)
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
