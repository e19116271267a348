package s3

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

const required = contract.Required

// parse validates the fields of aws_s3 and s3_compatible configs into s.
func (s *Settings) parse(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	s.BucketName = in.Str[FieldBucketName]
	if _, ok := in.Str[FieldBucketName]; !ok {
		errs.Add(FieldBucketName, required)
	} else {
		for _, m := range BucketNameProblems(s.BucketName) {
			errs.Add(FieldBucketName, "%s", m)
		}
	}
	s.Region = strings.TrimSpace(in.Str[FieldBucketRegion])
	s.checkRegion(errs)
	prefix, msg := contract.NormalizePrefix(in.Str[FieldBucketPrefix])
	if msg != "" {
		errs.Add(FieldBucketPrefix, "%s", msg)
	}
	s.KeyPrefix = prefix

	s.Auth = AuthAccessKey
	if m, ok := in.Str[FieldAuthMethod]; ok {
		switch m {
		case AuthAccessKey:
		case AuthIAMRole:
			if !s.Compatible {
				s.Auth = AuthIAMRole
			} else {
				errs.Add(FieldAuthMethod, "IAM role access is only for provider aws_s3; use \"access_key\" with s3_access_key_id and s3_secret_access_key.")
			}
		default:
			errs.Add(FieldAuthMethod, "Use \"access_key\" or \"iam_role\".")
		}
	}
	s.RoleARN = s.checkRoleARN(errs, in)
	creds := s.checkKeys(errs, in)

	if !s.Compatible {
		s.Accelerate = in.Bool[FieldIsAccelerated]
		if s.Accelerate && strings.Contains(s.BucketName, ".") {
			errs.Add(FieldIsAccelerated, "Transfer Acceleration needs a bucket name without dots.")
		}
		s.CloudfrontDomain = strings.ToLower(strings.TrimSpace(in.Str[FieldCloudfrontDom]))
		if s.CloudfrontDomain != "" && !hostnameRE().MatchString(s.CloudfrontDomain) {
			errs.Add(FieldCloudfrontDom, "Enter a host name such as d111111abcdef8.cloudfront.net, without a scheme or path.")
		}
		s.CloudfrontPublicKeyID = strings.TrimSpace(in.Str[FieldCloudfrontKeyID])
		if s.CloudfrontPublicKeyID != "" && !cfKeyRE().MatchString(s.CloudfrontPublicKeyID) {
			errs.Add(FieldCloudfrontKeyID, "Enter a CloudFront public key ID: upper-case letters and digits, such as K2JCJMDEHXQW5F.")
		}
		return creds
	}
	s.UsePathStyle = true
	if v, ok := in.Bool[FieldUsePathStyle]; ok {
		s.UsePathStyle = v
	}
	endpoint, msg := NormalizeEndpoint(in.Str[FieldEndpointURL], in.Has(FieldEndpointURL))
	if msg != "" {
		errs.Add(FieldEndpointURL, "%s", msg)
	}
	s.Endpoint = endpoint
	return creds
}

var (
	awsRegionRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`) })
	genericRegionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`) })
	hostnameRE      = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	})
	cfKeyRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{8,64}$`) })
	awsKeyIDRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{16,128}$`) })
	bucketCharsRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9.-]+$`) })
)

// checkRegion validates s3_bucket_region, which may be left out: for
// aws_s3, the verifier then finds the bucket's region (HeadBucket) and the
// config keeps it.
func (s *Settings) checkRegion(errs errcode.FieldErrors) {
	r := s.Region
	switch {
	case r == "":
	case !s.Compatible && !awsRegionRE().MatchString(r):
		errs.Add(FieldBucketRegion, "Enter an AWS region code such as us-west-2.")
	case r != "" && !genericRegionRE().MatchString(r):
		errs.Add(FieldBucketRegion, "Enter the region your provider documents, such as us-east-1 or auto.")
	}
}

// checkRoleARN validates s3_role_arn, which iam_role requires and
// access_key forbids.
func (s *Settings) checkRoleARN(errs errcode.FieldErrors, in contract.Input) string {
	arn, has := in.Str[FieldRoleARN]
	arn = strings.TrimSpace(arn)
	iam := in.Str[FieldAuthMethod] == AuthIAMRole
	switch {
	case !iam && has:
		errs.Add(FieldRoleARN, "Only used with s3_auth_method \"iam_role\"; remove it.")
	case !iam || s.Compatible:
		// access_key, or iam_role where it does not apply (reported on
		// s3_auth_method).
		return ""
	case !has:
		errs.Add(FieldRoleARN, "This field is required with s3_auth_method \"iam_role\".")
	case arn == "":
		errs.Add(FieldRoleARN, "This field may not be blank.")
	case !ValidRoleARN(arn):
		errs.Add(FieldRoleARN, "Enter the ARN of an IAM role, such as arn:aws:iam::123456789012:role/bucketlink-access.")
	}
	return arn
}

// roleARNRE is an IAM role ARN: partition, 12-digit account, "role/", an
// optional path and the role name (1 to 64 of [A-Za-z0-9_+=,.@-]).
var roleARNRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
})

// ValidRoleARN reports whether arn is an IAM role ARN in a partition
// bucketlink serves: arn:(aws|aws-cn|aws-us-gov):iam::<12 digits>:role/<path/name>.
func ValidRoleARN(arn string) bool {
	return len(arn) <= 2048 && roleARNRE().MatchString(arn)
}

// checkKeys validates the access key pair; both are required for
// access_key, and neither may be given with iam_role on aws_s3.
func (s *Settings) checkKeys(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	id, hasID := in.Str[FieldAccessKeyID]
	secret, hasSecret := in.Str[FieldSecretAccessKey]
	if in.Str[FieldAuthMethod] == AuthIAMRole {
		if s.Compatible {
			return contract.Credentials{} // reported on s3_auth_method
		}
		const notUsed = "Not used with s3_auth_method \"iam_role\": bucketlink uses the role's temporary credentials. Remove it."
		if hasID {
			errs.Add(FieldAccessKeyID, notUsed)
		}
		if hasSecret {
			errs.Add(FieldSecretAccessKey, notUsed)
		}
		return contract.Credentials{}
	}
	id = strings.TrimSpace(id)
	switch {
	case !hasID || id == "":
		errs.Add(FieldAccessKeyID, required)
	case !s.Compatible && !awsKeyIDRE().MatchString(id):
		errs.Add(FieldAccessKeyID, "An AWS access key ID is 16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE.")
	case len(id) < 3 || len(id) > 128 || strings.IndexFunc(id, contract.NotPrintableASCII) >= 0:
		errs.Add(FieldAccessKeyID, "An access key ID is 3 to 128 printable characters without spaces.")
	}
	switch {
	case !hasSecret || secret == "":
		errs.Add(FieldSecretAccessKey, required)
	case len(secret) > 1024 || strings.IndexFunc(secret, contract.NotPrintableASCII) >= 0:
		// Never echo the value: it is a secret.
		errs.Add(FieldSecretAccessKey, "A secret access key is at most 1024 printable characters without spaces.")
	}
	return KeyCredentials(id, secret)
}

// BucketNameProblems lists what is wrong with an S3 bucket name, following
// the general-purpose bucket naming rules; nil means it is valid.
func BucketNameProblems(name string) []string {
	var out []string
	if l := len(name); l < 3 || l > 63 {
		out = append(out, "Bucket names must be between 3 and 63 characters long.")
	}
	if !bucketCharsRE().MatchString(name) {
		out = append(out, "Bucket names can consist only of lower-case letters, numbers, dots and hyphens.")
	}
	if name != "" && (!contract.IsAlnum(name[0]) || !contract.IsAlnum(name[len(name)-1])) {
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
