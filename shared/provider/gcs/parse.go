package gcs

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// GCS bucket name limits.
const (
	MaxGCSBucketLen       = 63  // a name without dots
	MaxGCSDottedBucketLen = 222 // a name with dots
	maxGCSComponentLen    = 63  // each dot-separated part of a dotted name
	maxServiceAccountLen  = 16 << 10
)

var (
	gcsBucketCharsRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9._-]+$`) })
	// hmacAccessIDRE: Google's HMAC access IDs are "GOOG" and upper-case
	// letters and digits (61 characters for a service account's key, 24
	// for a user account's).
	hmacAccessIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^GOOG[A-Z0-9]{8,124}$`) })
)

// parseGCS validates the fields of gc_storage configs.
func (s *Settings) parse(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	name, ok := in.Str["gc_storage_bucket_name"]
	s.BucketName = name
	if !ok {
		errs.Add("gc_storage_bucket_name", contract.Required)
	} else {
		for _, m := range BucketNameProblems(s.BucketName) {
			errs.Add("gc_storage_bucket_name", "%s", m)
		}
	}
	prefix, msg := contract.NormalizePrefix(in.Str["gc_storage_prefix"])
	if msg != "" {
		errs.Add("gc_storage_prefix", "%s", msg)
	}
	s.KeyPrefix = prefix

	s.Auth = AuthServiceAccount
	if m, ok := in.Str["gc_storage_auth_method"]; ok {
		switch m {
		case AuthServiceAccount, AuthHMAC, AuthImpersonation:
			s.Auth = m
		default:
			errs.Add("gc_storage_auth_method", "Use \"service_account\" (with gc_storage_auth_json_content), \"hmac\" (with gc_storage_hmac_access_id and gc_storage_hmac_secret) or \"impersonation\" (with gc_storage_service_account_email).")
			return contract.Credentials{}
		}
	}
	if s.Auth != AuthImpersonation && in.Has(FieldServiceAccountEmail) {
		errs.Add(FieldServiceAccountEmail, "Only used with gc_storage_auth_method \"impersonation\"; remove it.")
	}
	switch s.Auth {
	case AuthHMAC:
		return checkHMAC(errs, in)
	case AuthImpersonation:
		s.ServiceAccountEmail = checkImpersonation(errs, in)
		return contract.Credentials{}
	}
	return checkServiceAccount(errs, in)
}

// checkServiceAccount validates gc_storage_auth_json_content, which the
// service_account method requires; the HMAC fields are not used with it.
func checkServiceAccount(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	for _, f := range []string{"gc_storage_hmac_access_id", "gc_storage_hmac_secret"} {
		if in.Has(f) {
			errs.Add(f, "Only used with gc_storage_auth_method \"hmac\"; remove it.")
		}
	}
	key, ok := in.Str["gc_storage_auth_json_content"]
	switch {
	case !ok:
		errs.Add("gc_storage_auth_json_content", contract.Required)
		return contract.Credentials{}
	case len(key) > maxServiceAccountLen:
		errs.Add("gc_storage_auth_json_content", "A service account JSON key is at most %d bytes.", maxServiceAccountLen)
		return contract.Credentials{}
	}
	// The messages never quote the key (see ValidateServiceAccountJSON).
	for _, m := range gcskey.Validate(key) {
		errs.Add("gc_storage_auth_json_content", "%s", m)
	}
	return contract.Credentials{CredServiceAccountJSON: key}
}

// checkImpersonation validates gc_storage_service_account_email, which the
// impersonation method requires; no key is used with it.
func checkImpersonation(errs errcode.FieldErrors, in contract.Input) string {
	for _, f := range []string{FieldServiceAccount, FieldHMACAccessID, FieldHMACSecret} {
		if in.Has(f) {
			errs.Add(f, "Not used with gc_storage_auth_method \"impersonation\": bucketlink acts as the service account without a key. Remove it.")
		}
	}
	email, ok := in.Str[FieldServiceAccountEmail]
	email = strings.TrimSpace(email)
	switch {
	case !ok || email == "":
		errs.Add(FieldServiceAccountEmail, "This field is required with gc_storage_auth_method \"impersonation\".")
	case gcskey.ValidateServiceAccountEmail(email) != nil:
		errs.Add(FieldServiceAccountEmail, "A service account e-mail is NAME@PROJECT_ID.iam.gserviceaccount.com (or PROJECT_ID@appspot.gserviceaccount.com, PROJECT_NUMBER-compute@developer.gserviceaccount.com).")
	}
	return email
}

// checkHMAC validates the HMAC key pair, which the hmac method requires;
// the service-account key is not used with it.
func checkHMAC(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	if in.Has("gc_storage_auth_json_content") {
		errs.Add("gc_storage_auth_json_content", "Not used with gc_storage_auth_method \"hmac\": bucketlink signs with the HMAC key. Remove it.")
	}
	id, hasID := in.Str["gc_storage_hmac_access_id"]
	secret, hasSecret := in.Str["gc_storage_hmac_secret"]
	id = strings.TrimSpace(id)
	switch {
	case !hasID || id == "":
		errs.Add("gc_storage_hmac_access_id", "This field is required with gc_storage_auth_method \"hmac\".")
	case !hmacAccessIDRE().MatchString(id):
		errs.Add("gc_storage_hmac_access_id", "A Google HMAC access ID is \"GOOG\" followed by upper-case letters and digits, such as GOOG1EXAMPLEACCESSID (Cloud Storage settings, Interoperability).")
	}
	switch {
	case !hasSecret || secret == "":
		errs.Add("gc_storage_hmac_secret", "This field is required with gc_storage_auth_method \"hmac\".")
	case len(secret) > 1024 || strings.IndexFunc(secret, contract.NotPrintableASCII) >= 0:
		// Never echo the value: it is a secret.
		errs.Add("gc_storage_hmac_secret", "An HMAC secret is at most 1024 printable characters without spaces.")
	}
	return contract.Credentials{CredHMACAccessID: id, CredHMACSecret: secret}
}

// BucketNameProblems lists what is wrong with a Google Cloud Storage
// bucket name under Google's naming rules; nil means it is valid.
func BucketNameProblems(name string) []string {
	var out []string
	dotted := strings.Contains(name, ".")
	switch l := len(name); {
	case l < 3:
		out = append(out, "Bucket names must contain at least 3 characters.")
	case !dotted && l > MaxGCSBucketLen:
		out = append(out, "Bucket names without dots must contain at most 63 characters.")
	case l > MaxGCSDottedBucketLen:
		out = append(out, "Bucket names with dots must contain at most 222 characters.")
	}
	if !gcsBucketCharsRE().MatchString(name) {
		out = append(out, "Bucket names can consist only of lower-case letters, numbers, dashes, underscores and dots.")
	}
	if name != "" && (!contract.IsAlnum(name[0]) || !contract.IsAlnum(name[len(name)-1])) {
		out = append(out, "Bucket names must start and end with a letter or number.")
	}
	if dotted {
		for _, part := range strings.Split(name, ".") {
			if part == "" {
				out = append(out, "Bucket names must not contain two adjacent dots.")
				break
			}
			if len(part) > maxGCSComponentLen {
				out = append(out, "Each dot-separated part of a bucket name must contain at most 63 characters.")
				break
			}
		}
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		out = append(out, "Bucket names must not be formatted as an IP address.")
	}
	if strings.HasPrefix(name, "goog") {
		out = append(out, "Bucket names must not start with \"goog\".")
	}
	if strings.Contains(name, "google") || strings.Contains(name, "g00gle") {
		out = append(out, "Bucket names must not contain \"google\" or close misspellings of it.")
	}
	return out
}
