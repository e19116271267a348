// Package azure is the azure_blob provider: an Azure Blob Storage
// container, with a storage account key, a SAS token or a Microsoft Entra
// ID service principal (tenant, client ID and client secret). It owns its
// fields, validation, credentials, check report (including what a SAS
// token says about itself without connecting) and bucket-verify mapping;
// package azureopen opens its containers.
package azure

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Name is the provider's wire name.
const Name = "azure_blob"

// The request fields.
const (
	FieldAccountName   = "azure_account_name"
	FieldContainerName = "azure_container_name"
	FieldPrefix        = "azure_prefix"
	FieldEndpointURL   = "azure_endpoint_url"
	FieldAccountKey    = "azure_account_key"
	FieldSASToken      = "azure_sas_token"
	// FieldAuthMethod is optional on create: absent, the credential given
	// decides (account key or SAS token), as before it existed.
	FieldAuthMethod = "azure_auth_method"
	// FieldTenantID and FieldClientID name a service principal (returned;
	// not secrets); FieldClientSecret is its secret (write-only).
	FieldTenantID     = "azure_tenant_id"
	FieldClientID     = "azure_client_id"
	FieldClientSecret = "azure_client_secret"
)

// The parts of the credentials (as sealed).
const (
	CredAccountKey   = "azure_account_key"
	CredSASToken     = "azure_sas_token"
	CredClientSecret = "azure_client_secret"
)

// Auth methods, the values of azure_auth_method.
const (
	AuthAccountKey = "account_key"
	AuthSASToken   = "sas_token"
	// AuthServicePrincipal: an Entra ID application's client secret, for
	// an OAuth token from the Entra authority of the endpoint's cloud; the
	// principal needs a data role on the container.
	AuthServicePrincipal = "service_principal"
	// AuthWorkloadIdentity: the same Entra ID application with no secret
	// at all: it trusts bucketlink's own identity (a federated identity
	// credential for the issuer, subject and audience of bucketlink's
	// tokens, e.g. AWS IAM outbound identity federation), and bucketlink
	// signs in with a client assertion of that issuer.
	AuthWorkloadIdentity = "workload_identity"
)

// FederationAudience is the audience of a federated credential in Azure's
// public cloud (api://AzureADTokenExchangeChina and
// api://AzureADTokenExchangeUSGov in the others; see azrules).
const FederationAudience = "api://AzureADTokenExchange"

var fields = []contract.Field{
	{Name: FieldAccountName, Fixed: true},
	{Name: FieldContainerName},
	{Name: FieldPrefix},
	{Name: FieldEndpointURL},
	{Name: FieldAuthMethod, Auth: true, AuthMethod: true},
	{Name: FieldTenantID, Auth: true},
	{Name: FieldClientID, Auth: true},
	{Name: FieldAccountKey, WriteOnly: true},
	{Name: FieldSASToken, WriteOnly: true},
	{Name: FieldClientSecret, WriteOnly: true},
}

// Provider is azure_blob.
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

// Settings are the settings of an azure_blob config.
type Settings struct {
	Account   string `json:"azure_account_name"`
	Container string `json:"azure_container_name"`
	// KeyPrefix is normalised: "" or "a/b/".
	KeyPrefix string `json:"azure_prefix,omitempty"`
	// Endpoint is the effective blob endpoint, with a trailing slash: the
	// one the user gave (a sovereign cloud, Azurite), or
	// https://{account}.blob.core.windows.net/.
	Endpoint string `json:"azure_endpoint_url"`
	// Auth is the auth method; "" in the documents of configs made before
	// azure_auth_method existed (an account key or a SAS token: the
	// sealed credential decides).
	Auth string `json:"azure_auth_method,omitempty"`
	// TenantID and ClientID are a service principal's.
	TenantID string `json:"azure_tenant_id,omitempty"`
	ClientID string `json:"azure_client_id,omitempty"`
}

// Bucket implements contract.Settings.
func (s *Settings) Bucket() string { return s.Container }

// Prefix implements contract.Settings.
func (s *Settings) Prefix() string { return s.KeyPrefix }

// AuthMethod implements contract.Settings: "" for a config made before
// azure_auth_method existed.
func (s *Settings) AuthMethod() string { return s.Auth }

// ServicePrincipal reports a config that signs in as an Entra ID service
// principal, with a client secret or federated (workload_identity).
func (s *Settings) ServicePrincipal() bool {
	return s.Auth == AuthServicePrincipal || s.Auth == AuthWorkloadIdentity
}

// Federated reports a service principal without a secret, which bucketlink
// signs in as with a client assertion of its own identity.
func (s *Settings) Federated() bool { return s.Auth == AuthWorkloadIdentity }

// Wire implements contract.Settings.
func (s *Settings) Wire() map[string]any {
	return map[string]any{
		FieldAccountName:   s.Account,
		FieldContainerName: s.Container,
		FieldPrefix:        contract.Optional(s.KeyPrefix),
		FieldEndpointURL:   s.Endpoint,
		FieldAuthMethod:    contract.Optional(s.Auth),
		FieldTenantID:      contract.Optional(s.TenantID),
		FieldClientID:      contract.Optional(s.ClientID),
	}
}

// EffectiveEndpoint is where the container is: Endpoint, or the public
// cloud's endpoint of the account.
func (s *Settings) EffectiveEndpoint() string { return azrules.Endpoint(s.Account, s.Endpoint) }

// SASOnly reports credentials that are a SAS token without an account key.
func SASOnly(creds contract.Credentials) bool {
	return creds[CredAccountKey] == "" && creds[CredSASToken] != ""
}

var (
	keyPerms = map[string]string{
		contract.CheckList:    "to list blobs",
		contract.CheckRead:    "to read blobs",
		contract.CheckWrite:   "to write blobs",
		contract.CheckDelete:  "to delete blobs",
		contract.CheckPresign: "to write blobs",
	}
	sasPerms = map[string]string{
		contract.CheckList:    "to list blobs (SAS permission l)",
		contract.CheckRead:    "to read blobs (SAS permission r)",
		contract.CheckWrite:   "to write blobs (SAS permission w or c)",
		contract.CheckDelete:  "to delete blobs (SAS permission d)",
		contract.CheckPresign: "to write blobs (SAS permission w or c)",
	}
)

// NoSignedURLForSAS is why a config whose only credential is a SAS token
// gets no presigned PUT: a SAS signs nothing narrower, and a URL carrying
// the token would hand the stored credential (write-only) to whoever
// polls, for as long as the token lives.
const NoSignedURLForSAS = "No signedUrl: this storage config's only credential is a SAS token, which cannot sign a narrower URL, " +
	"and bucketlink never hands out a stored credential. The browser CORS test needs a config with the storage account key."

// Report implements contract.Settings.
func (s *Settings) Report(creds contract.Credentials) contract.Report {
	r := contract.Report{
		KeyID: FieldAccountName, Secret: FieldAccountKey, Bucket: FieldContainerName,
		Endpoint: errcode.NonField, Denied: FieldAccountKey, Role: FieldAccountKey,
		MsgInvalidKey: "Azure has no storage account with this name; check azure_account_name " +
			"(and azure_endpoint_url for another cloud).",
		MsgBadSecret: "The account key was rejected by Azure.",
		MsgBucket:    "Container not found or access denied.",
		Who:          "The account key", Are: "is",
		Resource: s.Container + "/" + s.KeyPrefix + "*", BucketWord: "container",
		Grant: "Check that the storage account allows shared key access and that its firewall " +
			"admits bucketlink.",
		Perms:          keyPerms,
		BucketEndpoint: s.EffectiveEndpoint(),
		Account:        s.Account,
	}
	if s.Endpoint != "" && s.Endpoint != azrules.Endpoint(s.Account, "") {
		r.Endpoint = FieldEndpointURL
	}
	if s.ServicePrincipal() {
		return s.principalReport(r, creds)
	}
	if creds[CredAccountKey] == "" && creds[CredSASToken] == "" {
		r.Missing = []contract.Missing{
			{Field: FieldAccountKey, Msg: "An account key (or a SAS token) is required."},
			{Field: FieldSASToken, Msg: "A SAS token (or an account key) is required."},
		}
	}
	if SASOnly(creds) {
		r.Secret, r.Denied, r.Role = FieldSASToken, FieldSASToken, FieldSASToken
		r.MsgBadSecret = "The SAS token was rejected by Azure: its signature does not match the account's keys, " +
			"or it was revoked. Create a new SAS token."
		r.Who = "The SAS token"
		r.Grant = "Create a SAS token for the container with the permissions r, w (or c), d and l."
		r.Perms = sasPerms
		r.NoPresign = NoSignedURLForSAS
		r.NoPresignNote = "Skipped: the only credential is a SAS token, which is never handed out in a signed URL."
	}
	return r
}

// BucketVerify implements contract.Provider: storageProvider "azure" is
// azure_blob with the account name as accessKey and its key as
// secretKey.
func (provider) BucketVerify() *contract.BucketVerify {
	trim := func(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }
	return &contract.BucketVerify{
		StorageProvider: "azure", Listed: `"azure"`, ListOrder: 2,
		Fields: map[string]string{
			FieldContainerName: contract.VerifyBucket,
			FieldPrefix:        contract.VerifyPrefix,
			FieldAccountName:   contract.VerifyAccessKey,
			FieldAccountKey:    contract.VerifySecretKey,
			FieldEndpointURL:   contract.VerifyEndpoint,
			// Only a stored config (bucketId) has a SAS token or a
			// service principal.
			FieldSASToken:     contract.VerifyBucketID,
			FieldAuthMethod:   contract.VerifyBucketID,
			FieldTenantID:     contract.VerifyBucketID,
			FieldClientID:     contract.VerifyBucketID,
			FieldClientSecret: contract.VerifyBucketID,
		},
		Create: func(r contract.VerifyRequest, _ errcode.FieldErrors) map[string]any {
			c := map[string]any{FieldAccountName: r.AccessKey, FieldAccountKey: r.Creds[CredAccountKey]}
			if r.HasBucket || r.Bucket != "" {
				c[FieldContainerName] = r.Bucket
			}
			if r.HasPrefix || r.Prefix != "" {
				c[FieldPrefix] = r.Prefix
			}
			if r.Endpoint != "" {
				c[FieldEndpointURL] = r.Endpoint
			}
			return c
		},
		Normalised: func(_ contract.Settings, r contract.VerifyRequest) (string, string) { return "", r.Endpoint },
		AccessKey:  func(s contract.Settings, _ contract.Credentials) string { return s.(*Settings).Account },
		SameEndpoint: func(s contract.Settings, e string) bool {
			return e == "" || trim(e) == trim(s.(*Settings).Endpoint)
		},
		CheckAccount: true, AnswersEndpoint: true,
		CredentialsOf: func(_, secret string) contract.Credentials {
			return contract.Credentials{CredAccountKey: secret}
		},
	}
}
