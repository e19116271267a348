// Package gcs is the gc_storage provider: Google Cloud Storage, with a
// service-account JSON key (the JSON API) or an HMAC interoperability key
// (the S3-compatible XML API at https://storage.googleapis.com). It owns
// its fields, validation, credentials, check report and bucket-verify
// mapping; package gcsopen opens its buckets.
package gcs

import (
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Name is the provider's wire name.
const Name = "gc_storage"

// Auth methods.
const (
	AuthServiceAccount = "service_account"
	AuthHMAC           = "hmac"
	// AuthImpersonation: bucketlink's own Google principal acts as the
	// customer's service account (gc_storage_service_account_email), which
	// grants it roles/iam.serviceAccountTokenCreator; no key.
	AuthImpersonation = "impersonation"
)

// The request fields.
const (
	FieldBucketName     = "gc_storage_bucket_name"
	FieldPrefix         = "gc_storage_prefix"
	FieldAuthMethod     = "gc_storage_auth_method"
	FieldServiceAccount = "gc_storage_auth_json_content"
	FieldHMACAccessID   = "gc_storage_hmac_access_id"
	FieldHMACSecret     = "gc_storage_hmac_secret"
	// FieldServiceAccountEmail is the service account an impersonation
	// config acts as (returned; not a secret).
	FieldServiceAccountEmail = "gc_storage_service_account_email"
)

// The parts of the credentials (as sealed). An HMAC key is sealed as an
// access key pair.
const (
	CredServiceAccountJSON = "service_account_json"
	CredHMACAccessID       = "access_key_id"
	CredHMACSecret         = "secret_access_key"
)

var fields = []contract.Field{
	{Name: FieldBucketName, Documented: true},
	{Name: FieldPrefix, Documented: true},
	{Name: FieldAuthMethod, Auth: true, AuthMethod: true},
	{Name: FieldServiceAccountEmail, Auth: true},
	{Name: FieldServiceAccount, WriteOnly: true},
	{Name: FieldHMACAccessID, WriteOnly: true},
	{Name: FieldHMACSecret, WriteOnly: true},
}

// Provider is gc_storage.
var Provider provider

type provider struct{}

// Name implements contract.Provider.
func (provider) Name() string { return Name }

// Fields implements contract.Provider.
func (provider) Fields() []contract.Field { return fields }

// Parse implements contract.Provider.
func (provider) Parse(in contract.Input, errs errcode.FieldErrors) (contract.Settings, contract.Credentials) {
	s := &Settings{}
	return s, s.parse(errs, in)
}

// Decode implements contract.Provider.
func (provider) Decode(doc []byte) (contract.Settings, error) {
	s, err := contract.DecodeJSON[Settings](Name, doc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Settings are the settings of a gc_storage config.
type Settings struct {
	BucketName string `json:"gc_storage_bucket_name"`
	// KeyPrefix is normalised: "" or "a/b/".
	KeyPrefix string `json:"gc_storage_prefix,omitempty"`
	Auth      string `json:"gc_storage_auth_method"`
	// ServiceAccountEmail is the service account of an impersonation
	// config.
	ServiceAccountEmail string `json:"gc_storage_service_account_email,omitempty"`
}

// Bucket implements contract.Settings.
func (s *Settings) Bucket() string { return s.BucketName }

// Prefix implements contract.Settings.
func (s *Settings) Prefix() string { return s.KeyPrefix }

// AuthMethod implements contract.Settings.
func (s *Settings) AuthMethod() string { return s.Auth }

// HMAC reports a config with an HMAC key.
func (s *Settings) HMAC() bool { return s.Auth == AuthHMAC }

// Impersonation reports a config that impersonates a service account.
func (s *Settings) Impersonation() bool { return s.Auth == AuthImpersonation }

// Wire implements contract.Settings.
func (s *Settings) Wire() map[string]any {
	return map[string]any{
		FieldBucketName:          s.BucketName,
		FieldPrefix:              contract.Optional(s.KeyPrefix),
		FieldAuthMethod:          s.Auth,
		FieldServiceAccountEmail: contract.Optional(s.ServiceAccountEmail),
	}
}

const grant = "Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser)."

var perms = map[string]string{
	contract.CheckList:    "storage.objects.list",
	contract.CheckRead:    "storage.objects.get",
	contract.CheckWrite:   "storage.objects.create",
	contract.CheckDelete:  "storage.objects.delete",
	contract.CheckPresign: "storage.objects.create",
}

// Report implements contract.Settings.
func (s *Settings) Report(creds contract.Credentials) contract.Report {
	r := contract.Report{
		KeyID: FieldServiceAccount, Secret: FieldServiceAccount, Bucket: FieldBucketName,
		Endpoint: errcode.NonField, Denied: FieldServiceAccount, Role: FieldServiceAccount,
		MsgInvalidKey: "Google did not accept the service account key: the service account or this key of it " +
			"may have been deleted or disabled.",
		MsgBadSecret: "Google rejected the signature of the service account key: the key was deleted or " +
			"replaced. Create a new key and send its JSON.",
		MsgBucket: "Bucket not found or access denied.",
		Who:       "The service account", Are: "is",
		Resource: "gs://" + s.BucketName + "/" + s.KeyPrefix + "*",
		Grant:    grant, Perms: perms, BucketWord: "bucket",
	}
	if s.Impersonation() {
		f := FieldServiceAccountEmail
		r.KeyID, r.Secret, r.Denied, r.Role = f, f, f, f
		r.MsgInvalidKey = "Google did not accept the token of this service account: it may have been deleted or disabled."
		r.MsgBadSecret = r.MsgInvalidKey
		r.MsgTemporaryRejected = r.MsgInvalidKey
		if s.ServiceAccountEmail == "" {
			r.Missing = []contract.Missing{{Field: f, Msg: "A service account e-mail is required."}}
		}
		return r
	}
	if s.HMAC() {
		r.KeyID, r.Secret, r.Denied, r.Role = FieldHMACAccessID, FieldHMACSecret, FieldHMACAccessID, FieldHMACAccessID
		r.MsgInvalidKey = "The HMAC access ID was not recognised by Google Cloud Storage; check that the key exists and is active."
		r.MsgBadSecret = "The HMAC secret does not match the HMAC access ID."
		r.Who = "The service account of this HMAC key"
		if creds[CredHMACAccessID] == "" {
			r.Missing = append(r.Missing, contract.Missing{Field: FieldHMACAccessID, Msg: "An HMAC access ID is required."})
		}
		if creds[CredHMACSecret] == "" {
			r.Missing = append(r.Missing, contract.Missing{Field: FieldHMACSecret, Msg: "An HMAC secret is required.", Secret: true})
		}
		return r
	}
	if creds[CredServiceAccountJSON] == "" {
		r.Missing = []contract.Missing{{Field: FieldServiceAccount, Msg: "A service account JSON key is required."}}
	}
	return r
}

// BucketVerify implements contract.Provider: storageProvider "google" is
// gc_storage with an HMAC key.
func (provider) BucketVerify() *contract.BucketVerify {
	return &contract.BucketVerify{
		StorageProvider: "google", Listed: `"google"`, ListOrder: 1,
		Fields: map[string]string{
			FieldBucketName:   contract.VerifyBucket,
			FieldPrefix:       contract.VerifyPrefix,
			FieldHMACAccessID: contract.VerifyAccessKey,
			FieldHMACSecret:   contract.VerifySecretKey,
			// Only a stored config (bucketId) has a service-account key.
			FieldServiceAccount: contract.VerifyBucketID,
		},
		Create: func(r contract.VerifyRequest, errs errcode.FieldErrors) map[string]any {
			if !isGoogleEndpoint(r.Endpoint) {
				errs.Add(contract.VerifyEndpoint, "With storageProvider \"google\" the endpoint is Google Cloud Storage's; leave it out.")
			}
			c := map[string]any{FieldAuthMethod: AuthHMAC, FieldHMACAccessID: r.Creds[CredHMACAccessID], FieldHMACSecret: r.Creds[CredHMACSecret]}
			if r.HasBucket || r.Bucket != "" {
				c[FieldBucketName] = r.Bucket
			}
			if r.HasPrefix || r.Prefix != "" {
				c[FieldPrefix] = r.Prefix
			}
			return c
		},
		Normalised: func(contract.Settings, contract.VerifyRequest) (string, string) { return "", "" },
		CredentialsOf: func(id, secret string) contract.Credentials {
			return contract.Credentials{CredHMACAccessID: id, CredHMACSecret: secret}
		},
		AccessKey:    func(_ contract.Settings, creds contract.Credentials) string { return creds[CredHMACAccessID] },
		SameEndpoint: func(_ contract.Settings, e string) bool { return isGoogleEndpoint(e) },
	}
}

// isGoogleEndpoint accepts no endpoint, or Google Cloud Storage's.
func isGoogleEndpoint(e string) bool {
	return e == "" || contract.HostOf(e) == "storage.googleapis.com"
}
