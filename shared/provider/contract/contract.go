// Package contract is what a storage provider implements: the wire fields
// it owns, how it validates and normalises them into its Settings, how its
// credentials are kept, which request field a failure of each check names
// (Report), and how the bucket-verify API maps onto it (BucketVerify).
//
// A provider is one package under shared/provider (s3, gcs, azure), with
// its opener in a sub-package that only the verifier links (s3/s3open,
// ...). The registry, package provider, is the only list of them. This
// package holds no provider and links no driver.
package contract

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// Kind is the JSON type of a request field.
type Kind int

// The field kinds.
const (
	String Kind = iota
	Bool
	Int
	// Strings is a JSON array of strings (Input.List).
	Strings
)

// Field is one request field a provider owns.
type Field struct {
	// Name is the field as the API spells it ("s3_bucket_name").
	Name string
	Kind Kind
	// WriteOnly marks a credential: accepted on create, never returned.
	WriteOnly bool
	// Documented marks a field of the spec's field table: it is written
	// among the documented fields, before the additions.
	Documented bool
	// FalseWhenAbsent writes false instead of null when the config does
	// not set the field (s3_is_accelerated, which the spec types as a
	// plain boolean).
	FalseWhenAbsent bool
	// Only, when set, restricts the field to that provider of a family
	// that shares one field table (s3_endpoint_url: s3_compatible).
	Only string
	// Auth marks a field of the authentication that is not a secret: what
	// names the principal (s3_role_arn, gc_storage_service_account_email)
	// or, with AuthMethod, the field that chooses the method. A PATCH that
	// gives any Auth or WriteOnly field replaces the config's whole
	// authentication: the stored Auth fields are dropped, except the
	// method, which stays unless the PATCH gives it (a rotation).
	Auth bool
	// AuthMethod marks the field that chooses the auth method
	// (s3_auth_method); it is an Auth field too.
	AuthMethod bool
	// Fixed marks a field that names what the credentials belong to and
	// that a PATCH may not change (azure_account_name: an account key or
	// SAS token is the account's); a different one is a new config.
	Fixed bool
}

// Provider is one storage provider (or auth family). Its methods are
// pure: they do no I/O and link no driver.
type Provider interface {
	// Name is the provider's wire name ("aws_s3").
	Name() string
	// Fields are the request fields the provider owns, in wire order.
	// Providers of one family return the same table (see Field.Only).
	Fields() []Field
	// Parse validates and normalises the provider's fields of a create
	// request (only fields that apply to it are present), adding every
	// problem to errs, and returns the settings and credentials it read;
	// both are set as far as they could be read even when errs is not
	// empty.
	Parse(in Input, errs errcode.FieldErrors) (Settings, Credentials)
	// Decode reads a settings document written by json.Marshal of the
	// provider's Settings.
	Decode(doc []byte) (Settings, error)
	// BucketVerify is how the bucket-verify API maps onto the provider;
	// nil when that API does not serve it.
	BucketVerify() *BucketVerify
}

// Settings are the non-secret settings of one config of a provider,
// normalised. json.Marshal of a Settings is its stored document.
type Settings interface {
	// Bucket is the bucket (container) name; Prefix the key prefix, ""
	// or ending in "/".
	Bucket() string
	Prefix() string
	// AuthMethod names how the config authenticates ("access_key").
	AuthMethod() string
	// Wire returns the values of the provider's fields that are set;
	// fields left out are written null (or false, FalseWhenAbsent).
	Wire() map[string]any
	// Report says which request field each failure of the checks names,
	// for these credentials.
	Report(creds Credentials) Report
}

// Check names, as the verifier reports them.
const (
	CheckList    = "list"
	CheckRead    = "read"
	CheckWrite   = "write"
	CheckDelete  = "delete"
	CheckPresign = "presign"
)

// Report is how the failures of one config (provider, auth method and
// credentials) are reported: which request field each failure names, and
// the words that name the provider's credentials and permissions.
type Report struct {
	// KeyID names an unknown principal (invalid_access_key); Secret a
	// credential that does not match it (signature_mismatch); Bucket a
	// missing or closed bucket; Region a wrong region ("" when the
	// provider has none); Endpoint an unreachable endpoint
	// (errcode.NonField when the user gave none); Denied a missing object
	// permission; Role a principal bucketlink could not become (a role
	// STS refused).
	KeyID, Secret, Bucket, Region, Endpoint, Denied, Role string

	MsgInvalidKey, MsgBadSecret, MsgBucket string
	// MsgTemporaryRejected, when set, is the message of credentials the
	// provider rejected although bucketlink obtained them itself (an
	// assumed role's): both invalid_access_key and signature_mismatch are
	// reported as invalid_access_key on Role with it.
	MsgTemporaryRejected string

	// A permission message reads "<Who> <Are> not allowed <perm> on
	// <Resource>. <Grant>", or "<Who> can list the <BucketWord> but ...".
	Who, Are, Resource, Grant, BucketWord string
	// Perms names the permission each check needs.
	Perms map[string]string

	// Missing lists the parts of the credentials that are empty, the
	// principal's first; nil when they are complete.
	Missing []Missing

	// NoPresign, when set, is why no presigned PUT can be signed with
	// these credentials (an Azure SAS token).
	NoPresign string
	// NoPresignNote is the message of the skipped presign check then.
	NoPresignNote string
	// BucketEndpoint is the endpoint URL the bucket-verify answer reports
	// ("" for none).
	BucketEndpoint string
	// Account is the storage account, where the provider has one (Azure);
	// EndpointURL the endpoint the user gave, where the provider takes
	// one (s3_compatible). CORS fixes name them.
	Account, EndpointURL string

	// DeniedBeforeBucket: the provider refuses a principal without the
	// permission before it looks the bucket up (Azure RBAC), so a denied
	// list is the permission's (Denied, with the permission message), not
	// a missing bucket's.
	DeniedBeforeBucket bool
	// Classify, when set, reports the failures the provider recognises in
	// an error itself (Entra ID refusing one part of a service principal),
	// before the generic mapping of codes; ok false leaves err to it.
	Classify func(check string, err error) (f Failure, ok bool)
}

// Missing is an empty part of a config's credentials.
type Missing struct {
	Field, Msg string
	// Secret marks the part that proves the principal (a secret key),
	// as opposed to the one naming it: missing alone, it reads as
	// signature_mismatch.
	Secret bool
}

// BucketVerify maps the bucket-verify API's request onto a provider.
type BucketVerify struct {
	// StorageProvider is its storageProvider value ("s3").
	StorageProvider string
	// Listed is how the unsupported-provider message lists it
	// (`"s3" (the default)`); ListOrder its place there.
	Listed    string
	ListOrder int
	// Fields maps the provider's request fields to the bucket-verify
	// fields that hold the same value ("s3_bucket_name": "bucket").
	Fields map[string]string
	// Create turns a request into the provider's create fields (name and
	// provider are added by the caller), adding errors on the
	// bucket-verify fields to errs.
	Create func(r VerifyRequest, errs errcode.FieldErrors) map[string]any
	// Normalised returns the region and endpoint a request means once its
	// config is built, so that equal requests give equal records.
	Normalised func(s Settings, r VerifyRequest) (region, endpoint string)
	// AccessKey is the accessKey of a stored config with creds: what a
	// request naming it must give.
	AccessKey func(s Settings, creds Credentials) string
	// SameEndpoint reports whether a request's endpoint names the
	// config's ("" always does).
	SameEndpoint func(s Settings, endpoint string) bool
	// EndpointReplaceable: an admin may verify the stored credentials at
	// another endpoint (a signature that does not bind the host).
	EndpointReplaceable bool
	// HasRegion: the region field applies.
	HasRegion bool
	// CredentialsOf returns the credentials of a request's accessKey and
	// secretKey.
	CredentialsOf func(accessKey, secret string) Credentials
	// AnswersEndpoint: a connected answer always carries the endpoint
	// (Azure's, which the browser needs).
	AnswersEndpoint bool
	// CheckAccount, when set, names the field of the stored config a
	// request's accessKey must equal (the Azure account).
	CheckAccount bool
}

// VerifyRequest is the part of a bucket-verify request a provider maps.
type VerifyRequest struct {
	AccessKey, Bucket, Prefix, Region, Endpoint string
	HasBucket, HasPrefix                        bool
	// Creds are the request's credentials (CredentialsOf).
	Creds Credentials
}

// The bucket-verify API's request fields a mapping names.
const (
	VerifyAccessKey = "accessKey"
	VerifySecretKey = "secretKey"
	VerifyBucketID  = "bucketId"
	VerifyBucket    = "bucket"
	VerifyEndpoint  = "endpoint"
	VerifyRegion    = "region"
	VerifyPrefix    = "prefix"
)

// The check codes a provider's own failures use (package verify lists
// them all).
const (
	CodeInvalidAccessKey  = "invalid_access_key"
	CodeSignatureMismatch = "signature_mismatch"
	CodeAccessDenied      = "access_denied"
	CodeSTSUnavailable    = "sts_unavailable"
)

// Failure is how one failed check is reported.
type Failure struct{ Code, Field, Msg string }

// LocalError is implemented by a provider's errors that were found
// without connecting (a SAS token that cannot serve), which say
// themselves how the failure of a check is reported.
type LocalError interface {
	error
	Failure(check string) Failure
}

// Prechecker is implemented by Settings whose credentials can say,
// without connecting, that they cannot serve every check (an Azure SAS
// token that expired or lacks a permission). Precheck returns ok false
// when they can serve; otherwise either all (the error of every check) or
// each (the error of each check that cannot be served; the others are
// not run, with notRun as the reason).
type Prechecker interface {
	Precheck(creds Credentials, now time.Time) (all error, each map[string]error, notRun string, ok bool)
}

// ModeReporter is implemented by Settings whose report depends on the
// config's access mode (the RBAC role an Azure service principal needs:
// a reader's for a read-only config). The config's Report calls ReportMode
// instead of Report when it is implemented.
type ModeReporter interface {
	ReportMode(creds Credentials, readOnly bool) Report
}
