package azureblob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
)

// The roles a service principal needs; see azrules.
const (
	RoleBlobContributor = azrules.RoleBlobContributor
	RoleBlobReader      = azrules.RoleBlobReader
)

// Errors of a service principal's options; see azrules.
var (
	ErrNoAuthority = azrules.ErrNoAuthority
	ErrBadTenantID = azrules.ErrBadTenantID
	ErrBadClientID = azrules.ErrBadClientID
	ErrNoSecret    = errors.New("azureblob: a service principal needs its client secret or a client assertion")
)

// The part of a service principal's credentials Entra ID refused.
type CredentialPart string

// Parts of EntraError.Part.
const (
	PartTenant CredentialPart = "tenant" // no such tenant (directory)
	PartClient CredentialPart = "client" // no such application in the tenant, or disabled
	PartSecret CredentialPart = "secret" // the secret is wrong or expired
	// PartFederation: the application has no federated identity
	// credential matching the assertion's issuer, subject or audience (it
	// does not trust bucketlink's identity), or the assertion is invalid.
	PartFederation CredentialPart = "federation"
)

// EntraError is a refused or failed token request of a service principal.
// It never holds the secret (Entra's answers do not echo it).
type EntraError struct {
	// Part is what Entra refused; "" when the failure is not the
	// credentials' (Entra unreachable, throttling, a 5xx, or a refusal
	// bucketlink does not recognise).
	Part CredentialPart
	// Code is Entra's AADSTS code, e.g. "AADSTS7000215"; "" when none.
	Code string
	Err  error
}

func (e *EntraError) Error() string {
	what := "entra id token request failed"
	if e.Part != "" {
		what = "entra id refused the " + string(e.Part)
	}
	if e.Code != "" {
		what += " (" + e.Code + ")"
	}
	return "azureblob: " + what + ": " + e.Err.Error()
}

func (e *EntraError) Unwrap() error { return e.Err }

// EntraRejected returns the part of the credentials Entra refused
// ("tenant", "client" or "secret"), for the check layer to put the
// failure on that field; "" means the token could not be had for another
// reason.
func (e *EntraError) EntraRejected() string { return string(e.Part) }

// EntraCode returns Entra's AADSTS code ("AADSTS7000215"); "" when the
// answer had none (Entra not reached, or not answering as Entra).
func (e *EntraError) EntraCode() string { return e.Code }

// NonRetriable tells azcore's retry policy not to retry: azidentity has
// already retried what it retries.
func (e *EntraError) NonRetriable() {}

// aadstsParts maps Entra's AADSTS codes
// (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes)
// to the part they refuse.
var aadstsParts = map[int]CredentialPart{
	90002:   PartTenant, // InvalidTenantName: the tenant was not found
	900023:  PartTenant, // InvalidTenantIdentifier: neither a GUID nor a domain it knows
	700016:  PartClient, // UnauthorizedClient_DoesNotMatchRequest: no such application in the directory
	7000112: PartClient, // UnauthorizedClientApplicationDisabled
	7000215: PartSecret, // InvalidClientSecretProvided
	7000222: PartSecret, // InvalidClientSecretExpiredKeysProvided
	// Federated credentials (client assertions of a trusted issuer):
	70021:  PartFederation, // no matching federated identity record for the assertion
	700211: PartFederation, // no matching federated identity record for the assertion's issuer
	700212: PartFederation, // ... for the assertion's audience
	700213: PartFederation, // ... for the assertion's subject
	700024: PartFederation, // the client assertion is not within its valid time range
	700027: PartFederation, // the client assertion failed signature validation
}

// aadstsCode finds an AADSTS code in a message.
var aadstsCode = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`AADSTS(\d{5,7})`) })

// entraAnswer is the error body of Entra's token endpoints.
type entraAnswer struct {
	Error      string `json:"error"`
	ErrorCodes []int  `json:"error_codes"`
}

// principalCredential is the service principal's azidentity credential
// (a client secret's or a client assertion's), with its failures made
// *EntraError values.
type principalCredential struct {
	cred azcore.TokenCredential
}

// GetToken implements azcore.TokenCredential.
func (p *principalCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := p.cred.GetToken(ctx, o)
	if err != nil {
		return tok, entraError(err)
	}
	return tok, nil
}

// entraError classifies a failed token request by Entra's AADSTS code, read
// from the answer's error_codes or, when the answer is not at hand (MSAL's
// metadata step), from the message.
func entraError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &EntraError{Err: err}
	}
	codes := []int{}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		if body, perr := runtime.Payload(afe.RawResponse); perr == nil {
			var a entraAnswer
			if json.Unmarshal(body, &a) == nil {
				codes = append(codes, a.ErrorCodes...)
			}
		}
	}
	for _, m := range aadstsCode().FindAllStringSubmatch(err.Error(), -1) {
		if n, cerr := strconv.Atoi(m[1]); cerr == nil {
			codes = append(codes, n)
		}
	}
	e := &EntraError{Err: err}
	for _, c := range codes {
		if e.Code == "" {
			e.Code = "AADSTS" + strconv.Itoa(c)
		}
		if part, ok := aadstsParts[c]; ok {
			e.Part, e.Code = part, "AADSTS"+strconv.Itoa(c)
			break
		}
	}
	return e
}

// newPrincipalCredential returns the credential of a service principal,
// asking authority (the endpoint's cloud's, or the test override) only,
// over copts' transport. Instance discovery is off: the authority is
// fixed, so there is nothing to discover, and discovery would ask
// login.microsoftonline.com whatever the cloud. The tenant's metadata and
// token endpoint are the authority's.
func newPrincipalCredential(tenant, client, secret string, assertion func(context.Context) (string, error), authority string, copts azcore.ClientOptions) (*principalCredential, error) {
	copts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: authority}
	var (
		cred azcore.TokenCredential
		err  error
	)
	if assertion != nil {
		cred, err = azidentity.NewClientAssertionCredential(tenant, client, assertion, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions:            copts,
			DisableInstanceDiscovery: true,
		})
	} else {
		cred, err = azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            copts,
			DisableInstanceDiscovery: true,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("azureblob: service principal credential: %w", err)
	}
	return &principalCredential{cred: cred}, nil
}
