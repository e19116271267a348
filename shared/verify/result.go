package verify

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// The check codes of answers bucketlink does not read or requests it does
// not send (kept with their mapping, below; the other codes are in
// codes.go).
const (
	// CodeResponseTooLarge: the endpoint answered more than a bucket would
	// (an answer or its headers past netguard's limits); nothing more of it
	// was read.
	CodeResponseTooLarge = "response_too_large"
	// CodeHTTPSRequired: the endpoint is plain http://, refused unless the
	// operator allows private endpoints (netguard.PlainHTTPError says why).
	CodeHTTPSRequired = "https_required"
)

// plainHTTPError is implemented by netguard's error for a plain-http
// request it refused.
type plainHTTPError interface {
	error
	PlainHTTPRefused() bool
}

// msgHTTPSRequired is the message of CodeHTTPSRequired.
const msgHTTPSRequired = "The storage endpoint is a plain http:// URL: every request to it would carry the credentials " +
	"(a SAS token or signed requests) and any presigned URL for it would be usable by whoever sees it, unencrypted. " +
	"Give the endpoint's https:// address."

// failure is how one failed check is reported.
type failure struct {
	code  string
	field string
	msg   string
	// extra is an additional field error (e.g. a leftover probe object).
	extraField, extraMsg string
}

// result renders r: checks in order, deduplicated field errors, sample.
func (v *Verifier) result(r *run) Result {
	res := Result{Sample: r.sample, CORS: r.cors}
	fe := errcode.FieldErrors{}
	// When the bucket itself is missing or closed to these credentials, the
	// object checks fail for the same reason: report the bucket only.
	bucketFailed := false
	requesterPays := blob.CodeOf(r.list.err) == blob.RequesterPays
	type namedOutcome struct {
		name string
		o    outcome
	}
	checks := []namedOutcome{{CheckList, r.list}, {CheckRead, r.read}, {CheckWrite, r.write}, {CheckDelete, r.del}}
	if r.withPresign {
		checks = append(checks, namedOutcome{CheckPresign, r.presign})
	}
	for _, c := range checks {
		check := verification.Check{Name: c.name}
		switch {
		case c.o.skippedFor != "":
			check.Code, check.Message = CodeSkipped, "Skipped because the "+c.o.skippedFor+" check failed."
		case c.o.notRun != "":
			check.Code, check.Message = CodeSkipped, c.o.notRun
		case c.o.skipped:
			check.OK, check.Code, check.Message = true, CodeSkipped, c.o.note
		case c.o.err == nil:
			check.OK, check.Code, check.Message = true, cmp.Or(c.o.code, CodeOK), c.o.note
		default:
			err := c.o.err
			if requesterPays && c.name != CheckList && blob.CodeOf(err) == blob.AccessDenied {
				// The listing showed why: the lanes ran at once, so this
				// refusal may have come before the driver knew.
				err = r.list.err
			}
			f := v.describe(r, c.name, err)
			check.Code, check.Message = f.code, f.msg
			check.Fix = fixOf(r, c.name, f.code, c.o.err)
			// A credential problem found without connecting (a SAS token
			// lacking a permission) is each check's own.
			sameCause := (f.code == CodeBucketNotFound || f.code == CodeAccessDenied) && !isLocal(c.o.err)
			if c.name == CheckList {
				bucketFailed = sameCause
			}
			if bucketFailed && sameCause && c.name != CheckList {
				res.Checks = append(res.Checks, check)
				continue
			}
			addOnce(fe, f.field, f.msg)
			if f.extraMsg != "" {
				check.Message += " " + f.extraMsg
				addOnce(fe, f.extraField, f.extraMsg)
			}
		}
		res.Checks = append(res.Checks, check)
	}
	if len(fe) > 0 {
		res.Errors = fe
	}
	redact(&res, r.creds)
	return res
}

func addOnce(fe errcode.FieldErrors, field, msg string) {
	if !slices.Contains(fe[field], msg) {
		fe[field] = append(fe[field], msg)
	}
}

// describe turns the error of check name into a code, a field and a
// message that says what to fix.
func (v *Verifier) describe(r *run, name string, err error) failure {
	p := r.cfg.Report(r.creds)
	var (
		blocked blockedError
		plain   plainHTTPError
		be      *blob.Error
		open    *openError
		role    roleError
		imp     impersonationError
		local   contract.LocalError
	)
	switch {
	case errors.Is(err, errMissingCredentials):
		return missingCredentials(p.Missing)
	case errors.As(err, &local):
		lf := local.Failure(name)
		return failure{code: lf.Code, field: lf.Field, msg: lf.Msg}
	}
	if p.Classify != nil {
		if pf, ok := p.Classify(name, err); ok {
			f := failure{code: pf.Code, field: pf.Field, msg: pf.Msg}
			if name == CheckDelete {
				r.leftover(&f)
			}
			return f
		}
	}
	switch {
	case errors.As(err, &imp) && imp.ImpersonationDenied():
		return failure{code: CodeRoleNotAssumable, field: p.Role, msg: fmt.Sprintf(msgImpersonationDenied, imp.MissingRole())}
	case errors.As(err, &imp):
		return failure{code: CodeSTSUnavailable, field: errcode.NonField, msg: msgImpersonationUnavailable}
	case errors.As(err, &role) && role.RoleNotAssumable():
		return failure{code: CodeRoleNotAssumable, field: p.Role, msg: msgRoleNotAssumable}
	case errors.As(err, &role):
		return failure{code: CodeSTSUnavailable, field: errcode.NonField, msg: msgSTSUnavailable}
	case errors.As(err, &open):
		return failure{CodeProviderError, errcode.NonField, "The storage connection could not be set up from this configuration.", "", ""}
	case errors.As(err, &blocked):
		return failure{code: CodeEndpointBlocked, field: p.Endpoint,
			msg: "The storage endpoint resolves to an address that bucketlink is not allowed to connect to."}
	case errors.As(err, &plain) && plain.PlainHTTPRefused():
		return failure{code: CodeHTTPSRequired, field: p.Endpoint, msg: msgHTTPSRequired}
	}
	var f failure
	switch code := blob.CodeOf(err); {
	case p.MsgTemporaryRejected != "" && (code == blob.InvalidAccessKey || code == blob.SignatureMismatch):
		f = failure{code: CodeInvalidAccessKey, field: p.Role, msg: p.MsgTemporaryRejected}
	case code == blob.InvalidAccessKey:
		f = failure{code: CodeInvalidAccessKey, field: p.KeyID, msg: p.MsgInvalidKey}
	case code == blob.SignatureMismatch:
		f = failure{code: CodeSignatureMismatch, field: p.Secret, msg: p.MsgBadSecret}
	case code == blob.NotFound || code == blob.InvalidBucketName:
		f = failure{code: CodeBucketNotFound, field: p.Bucket, msg: p.MsgBucket}
	case code == blob.KMSAccessDenied && errors.As(err, &be):
		f = kmsFailure(be, p.Denied, p.Who)
	case code == blob.RequesterPays && errors.As(err, &be):
		f = requesterPaysFailure(be, p.Bucket, r.cfg.Bucket())
	case code == blob.AccessDenied && name == CheckList && !p.DeniedBeforeBucket:
		f = failure{code: CodeAccessDenied, field: p.Bucket, msg: p.MsgBucket}
	case code == blob.AccessDenied:
		f = failure{code: CodeAccessDenied, field: p.Denied, msg: r.permissionMessage(p, name)}
	case code == blob.WrongRegion && p.Region == "":
		f = failure{code: CodeWrongRegion, field: errcode.NonField, msg: "The storage provider says the bucket is in another region."}
	case code == blob.WrongRegion:
		f = failure{code: CodeWrongRegion, field: p.Region, msg: "The bucket is in another region than " + p.Region + "."}
		if errors.As(err, &be) && validRegion(be.Region) {
			f.msg = fmt.Sprintf("The bucket is in region %s; set %s to %s.", be.Region, p.Region, be.Region)
		}
	case code == blob.ResponseTooLarge:
		f = failure{code: CodeResponseTooLarge, field: p.Endpoint, msg: tooLargeMessage(err)}
	case code == blob.Unreachable || code == blob.Timeout:
		f = failure{code: CodeEndpointUnreachable, field: p.Endpoint,
			msg: fmt.Sprintf("The storage endpoint could not be reached or did not answer within %s.", v.callTimeout())}
		if errors.As(err, &be) && be.TLS {
			f = failure{code: CodeTLSError, field: p.Endpoint,
				msg: "A secure (TLS) connection to the storage endpoint failed: its certificate is not trusted or the handshake failed."}
		}
	default:
		f = failure{code: CodeProviderError, field: errcode.NonField,
			msg: fmt.Sprintf("The storage provider answered the %s check with error %s.", name, providerCode(err))}
	}
	if name == CheckDelete {
		r.leftover(&f)
	}
	return f
}

// tooLargeMessage says that the endpoint answered more than a bucket
// would, and which limit it passed. It does not name the check (the check
// says which it is), so that the field gets one message for all of them.
func tooLargeMessage(err error) string {
	what := blob.TooLargeDetail(err)
	if what == "" {
		what = "an answer larger than bucketlink reads"
	}
	return "The storage endpoint answered more than a bucket would (" + what + "), so bucketlink stopped reading it. " +
		"Check that the endpoint is the storage service's."
}

// permissionMessage names the permission check name lacks, on the prefix.
func (r *run) permissionMessage(p contract.Report, name string) string {
	can := p.Who + " " + p.Are + " not allowed"
	switch {
	case name == CheckDelete && r.write.err == nil:
		can = p.Who + " can write to the " + p.BucketWord + " but " + p.Are + " not allowed"
	case r.list.err == nil:
		can = p.Who + " can list the " + p.BucketWord + " but " + p.Are + " not allowed"
	}
	return fmt.Sprintf("%s %s on %s. %s", can, p.Perms[name], p.Resource, p.Grant)
}

// leftover tells the user about a probe object a failed delete left.
func (r *run) leftover(f *failure) {
	if f.code == CodeAccessDenied {
		f.msg += " The probe object " + quote(r.probeKey) + " was left in the " + r.cfg.Report(r.creds).BucketWord + "; delete it by hand."
		return
	}
	f.extraField = errcode.NonField
	f.extraMsg = "The probe object " + quote(r.probeKey) + " may have been left in the " + r.cfg.Report(r.creds).BucketWord + "; delete it by hand."
}

// The messages of a failed AssumeRole. They never echo the external id.
const (
	msgImpersonationDenied = "Google did not let bucketlink act as this service account. Grant bucketlink's Google principal " +
		"(GET /api/v1/storage-configs/setup-info/ shows it as gc_storage_principal) the role %s on the service account, " +
		"and check that the e-mail is right and the account is enabled."
	msgImpersonationUnavailable = "bucketlink could not get Google credentials to act as the service account right now; " +
		"this is not a problem with the account. Try again in a few minutes."
	msgRoleNotAssumable = "bucketlink could not assume this role. The likely cause is the role's trust policy: it must " +
		"allow sts:AssumeRole to bucketlink's AWS account with the condition that sts:ExternalId equals your " +
		"organization's external ID; GET /api/v1/storage-configs/setup-info/ shows both. Also check that the role ARN is right."
	msgSTSUnavailable = "bucketlink could not get credentials for the role from AWS STS right now; this is not a " +
		"problem with the role. Try again in a few minutes."
)

// missingCredentials reports credentials with a missing part, on the
// fields the provider names: the principal's part missing reads as
// invalid_access_key, the secret's alone as signature_mismatch.
func missingCredentials(missing []contract.Missing) failure {
	f := failure{code: CodeInvalidAccessKey, field: missing[0].Field, msg: missing[0].Msg}
	if missing[0].Secret {
		f.code = CodeSignatureMismatch
	}
	if len(missing) > 1 {
		f.extraField, f.extraMsg = missing[1].Field, missing[1].Msg
	}
	return f
}

// providerCode returns the provider's error code, reduced to a safe
// identifier, or "unknown".
func providerCode(err error) string {
	var pc providerCoder
	if !errors.As(err, &pc) {
		return "unknown"
	}
	code := pc.ErrorCode()
	if code == "" || len(code) > 64 || strings.IndexFunc(code, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return "unknown"
	}
	return code
}

// validRegion accepts region names as providers spell them ("us-east-1").
func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func quote(s string) string { return strconv.Quote(s) }

func listNote(n int, prefix string) string {
	where := "the bucket"
	if prefix != "" {
		where = "prefix " + quote(prefix)
	}
	if n == 1 {
		return "Listed 1 object under " + where + "."
	}
	return fmt.Sprintf("Listed %d objects under %s.", n, where)
}

// redact replaces any secret that reached a message. Messages are built
// from fixed text and config fields, so this is a last line of defence.
func redact(res *Result, c storageconfig.Credentials) {
	clean := func(s string) string {
		for _, secret := range c.Secrets() {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
		return s
	}
	for i := range res.Checks {
		res.Checks[i].Message = clean(res.Checks[i].Message)
	}
	for field, msgs := range res.Errors {
		for i := range msgs {
			msgs[i] = clean(msgs[i])
		}
		res.Errors[field] = msgs
	}
}
