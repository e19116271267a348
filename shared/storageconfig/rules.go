package storageconfig

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// Limits on user-given values.
const (
	MaxNameLen   = 255
	MaxPrefixLen = 1024
)

const required = "This field is required."

func checkName(errs errcode.FieldErrors, name string, present bool) string {
	name = strings.TrimSpace(name)
	switch {
	case !present:
		errs.Add("name", required)
	case name == "":
		errs.Add("name", "This field may not be blank.")
	case utf8.RuneCountInString(name) > MaxNameLen:
		errs.Add("name", "Ensure this field has no more than %d characters.", MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs.Add("name", "The name may not contain control characters.")
	}
	return name
}

// parseS3 validates the fields of aws_s3 and s3_compatible configs.
func parseS3(errs errcode.FieldErrors, in input, c *Config) Credentials {
	c.S3BucketName = in.str["s3_bucket_name"]
	if _, ok := in.str["s3_bucket_name"]; !ok {
		errs.Add("s3_bucket_name", required)
	} else {
		for _, m := range BucketNameProblems(c.S3BucketName) {
			errs.Add("s3_bucket_name", "%s", m)
		}
	}
	c.S3BucketRegion = strings.TrimSpace(in.str["s3_bucket_region"])
	checkRegion(errs, c)
	prefix, msg := NormalizePrefix(in.str["s3_bucket_prefix"])
	if msg != "" {
		errs.Add("s3_bucket_prefix", "%s", msg)
	}
	c.S3BucketPrefix = prefix

	c.S3AuthMethod = AuthAccessKey
	if m, ok := in.str["s3_auth_method"]; ok {
		switch S3AuthMethod(m) {
		case AuthAccessKey:
		case AuthIAMRole:
			if c.Provider == ProviderAWSS3 {
				c.S3AuthMethod = AuthIAMRole
			} else {
				errs.Add("s3_auth_method", "IAM role access is only for provider aws_s3; use \"access_key\" with s3_access_key_id and s3_secret_access_key.")
			}
		default:
			errs.Add("s3_auth_method", "Use \"access_key\" or \"iam_role\".")
		}
	}
	c.S3RoleARN = checkRoleARN(errs, in, c.Provider)
	creds := checkKeys(errs, in, c.Provider)

	switch c.Provider {
	case ProviderAWSS3:
		c.S3IsAccelerated = in.bool["s3_is_accelerated"]
		if c.S3IsAccelerated && strings.Contains(c.S3BucketName, ".") {
			errs.Add("s3_is_accelerated", "Transfer Acceleration needs a bucket name without dots.")
		}
		c.S3CloudfrontDomain = strings.ToLower(strings.TrimSpace(in.str["s3_cloudfront_domain"]))
		if c.S3CloudfrontDomain != "" && !hostnameRE.MatchString(c.S3CloudfrontDomain) {
			errs.Add("s3_cloudfront_domain", "Enter a host name such as d111111abcdef8.cloudfront.net, without a scheme or path.")
		}
		c.S3CloudfrontPublicKeyID = strings.TrimSpace(in.str["s3_cloudfront_public_key_id"])
		if c.S3CloudfrontPublicKeyID != "" && !cfKeyRE.MatchString(c.S3CloudfrontPublicKeyID) {
			errs.Add("s3_cloudfront_public_key_id", "Enter a CloudFront public key ID: upper-case letters and digits, such as K2JCJMDEHXQW5F.")
		}
	case ProviderS3Compatible:
		c.S3UsePathStyle = true
		if v, ok := in.bool["s3_use_path_style"]; ok {
			c.S3UsePathStyle = v
		}
		endpoint, msg := NormalizeEndpoint(in.str["s3_endpoint_url"], in.has("s3_endpoint_url"))
		if msg != "" {
			errs.Add("s3_endpoint_url", "%s", msg)
		}
		c.S3EndpointURL = endpoint
	}
	return creds
}

var (
	awsRegionRE     = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)
	genericRegionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	hostnameRE      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	cfKeyRE         = regexp.MustCompile(`^[A-Z0-9]{8,64}$`)
	awsKeyIDRE      = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	bucketCharsRE   = regexp.MustCompile(`^[a-z0-9.-]+$`)
)

func checkRegion(errs errcode.FieldErrors, c *Config) {
	r := c.S3BucketRegion
	switch {
	case c.Provider == ProviderAWSS3 && r == "":
		errs.Add("s3_bucket_region", required)
	case c.Provider == ProviderAWSS3 && !awsRegionRE.MatchString(r):
		errs.Add("s3_bucket_region", "Enter an AWS region code such as us-west-2.")
	case r != "" && !genericRegionRE.MatchString(r):
		errs.Add("s3_bucket_region", "Enter the region your provider documents, such as us-east-1 or auto.")
	}
}

// checkRoleARN validates s3_role_arn, which iam_role requires and
// access_key forbids.
func checkRoleARN(errs errcode.FieldErrors, in input, p Provider) string {
	arn, has := in.str["s3_role_arn"]
	arn = strings.TrimSpace(arn)
	iam := S3AuthMethod(in.str["s3_auth_method"]) == AuthIAMRole
	switch {
	case !iam && has:
		errs.Add("s3_role_arn", "Only used with s3_auth_method \"iam_role\"; remove it.")
	case !iam || p != ProviderAWSS3:
		// access_key, or iam_role where it does not apply (reported on
		// s3_auth_method).
		return ""
	case !has:
		errs.Add("s3_role_arn", "This field is required with s3_auth_method \"iam_role\".")
	case arn == "":
		errs.Add("s3_role_arn", "This field may not be blank.")
	case !ValidRoleARN(arn):
		errs.Add("s3_role_arn", "Enter the ARN of an IAM role, such as arn:aws:iam::123456789012:role/bucketlink-access.")
	}
	return arn
}

// roleARNRE is an IAM role ARN: partition, 12-digit account, "role/", an
// optional path and the role name (1 to 64 of [A-Za-z0-9_+=,.@-]).
var roleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)

// ValidRoleARN reports whether arn is an IAM role ARN in a partition
// bucketlink serves: arn:(aws|aws-cn|aws-us-gov):iam::<12 digits>:role/<path/name>.
func ValidRoleARN(arn string) bool {
	return len(arn) <= 2048 && roleARNRE.MatchString(arn)
}

// checkKeys validates the access key pair; both are required for
// access_key, and neither may be given with iam_role on aws_s3.
func checkKeys(errs errcode.FieldErrors, in input, p Provider) Credentials {
	id, hasID := in.str["s3_access_key_id"]
	secret, hasSecret := in.str["s3_secret_access_key"]
	if S3AuthMethod(in.str["s3_auth_method"]) == AuthIAMRole {
		if p != ProviderAWSS3 {
			return Credentials{} // reported on s3_auth_method
		}
		const notUsed = "Not used with s3_auth_method \"iam_role\": bucketlink uses the role's temporary credentials. Remove it."
		if hasID {
			errs.Add("s3_access_key_id", notUsed)
		}
		if hasSecret {
			errs.Add("s3_secret_access_key", notUsed)
		}
		return Credentials{}
	}
	id = strings.TrimSpace(id)
	switch {
	case !hasID || id == "":
		errs.Add("s3_access_key_id", required)
	case p == ProviderAWSS3 && !awsKeyIDRE.MatchString(id):
		errs.Add("s3_access_key_id", "An AWS access key ID is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.")
	case len(id) < 3 || len(id) > 128 || strings.IndexFunc(id, notPrintableASCII) >= 0:
		errs.Add("s3_access_key_id", "An access key ID is 3 to 128 printable characters without spaces.")
	}
	switch {
	case !hasSecret || secret == "":
		errs.Add("s3_secret_access_key", required)
	case len(secret) > 1024 || strings.IndexFunc(secret, notPrintableASCII) >= 0:
		// Never echo the value: it is a secret.
		errs.Add("s3_secret_access_key", "A secret access key is at most 1024 printable characters without spaces.")
	}
	return Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

func notPrintableASCII(r rune) bool { return r <= ' ' || r > '~' }

// BucketNameProblems lists what is wrong with an S3 bucket name, following
// the general-purpose bucket naming rules; nil means it is valid.
func BucketNameProblems(name string) []string {
	var out []string
	if l := len(name); l < 3 || l > 63 {
		out = append(out, "Bucket names must be between 3 and 63 characters long.")
	}
	if !bucketCharsRE.MatchString(name) {
		out = append(out, "Bucket names can consist only of lower-case letters, numbers, dots and hyphens.")
	}
	if name != "" && (!isAlnum(name[0]) || !isAlnum(name[len(name)-1])) {
		out = append(out, "Bucket names must begin and end with a letter or number.")
	}
	if strings.Contains(name, "..") {
		out = append(out, "Bucket names must not contain two adjacent periods.")
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		out = append(out, "Bucket names must not be formatted as an IP address.")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			out = append(out, "Bucket names must not start with \""+p+"\".")
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			out = append(out, "Bucket names must not end with \""+s+"\".")
		}
	}
	return out
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

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

// NormalizeEndpoint checks an S3-compatible endpoint URL and returns it
// without a trailing slash, or a message saying what to fix. Whether its
// address may be dialled, and whether plain http is allowed (only where
// the operator allows private endpoints), is decided by the client that
// connects (package netguard), which this package does not know.
func NormalizeEndpoint(raw string, present bool) (string, string) {
	raw = strings.TrimSpace(raw)
	if !present || raw == "" {
		return "", "This field is required for provider s3_compatible, e.g. https://s3.example.com."
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2048:
		return "", "Enter a valid URL such as https://s3.example.com."
	case u.Scheme != "https" && u.Scheme != "http":
		return "", "The endpoint must start with https:// (http:// is only for emulators, where the operator allows private endpoints)."
	case u.Host == "" || u.Hostname() == "":
		return "", "The endpoint must include a host name."
	case u.User != nil:
		return "", "The endpoint may not contain a user name or password; use the key fields."
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "", "The endpoint may not contain a query or fragment."
	case strings.Trim(u.Path, "/") != "":
		return "", "The endpoint may not contain a path; give the service root, such as https://s3.example.com."
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), ""
}
