package azrules

import (
	"errors"
	"net/url"
	"strings"
)

// The roles a service principal needs on the storage account (or the
// container), for the check layer to name when Azure answers 403
// AuthorizationPermissionMismatch: the checks write and delete a probe and
// presign a PUT (which needs a user delegation key, part of both roles).
const (
	RoleBlobContributor = "Storage Blob Data Contributor"
	RoleBlobReader      = "Storage Blob Data Reader"
)

// Entra ID authorities of Azure's clouds, by the blob endpoint suffix of
// each (https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud).
var authorities = []struct{ blobSuffix, authority string }{
	{".blob.core.windows.net", "https://login.microsoftonline.com/"},
	{".blob.core.chinacloudapi.cn", "https://login.chinacloudapi.cn/"},
	{".blob.core.usgovcloudapi.net", "https://login.microsoftonline.us/"},
}

// federationAudiences are the audiences Entra ID recommends for the
// federated identity credentials of each cloud's applications, by its
// authority (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust):
// the aud of the tokens bucketlink presents as client assertions.
var federationAudiences = map[string]string{
	"https://login.microsoftonline.com/": "api://AzureADTokenExchange",
	"https://login.chinacloudapi.cn/":    "api://AzureADTokenExchangeChina",
	"https://login.microsoftonline.us/":  "api://AzureADTokenExchangeUSGov",
}

// FederationAudience returns the audience of a federated credential of
// the cloud a blob endpoint belongs to, or ErrNoAuthority.
func FederationAudience(endpoint string) (string, error) {
	a, err := Authority(endpoint)
	if err != nil {
		return "", err
	}
	return federationAudiences[a], nil
}

// ErrNoAuthority: a service principal was given for an endpoint outside
// Azure's public, China and US Government clouds, whose Entra authority
// bucketlink does not know (and would not send a secret to on the
// endpoint's say-so).
var ErrNoAuthority = errors.New("azureblob: a service principal needs a blob endpoint of Azure's public, China or US Government cloud (*.blob.core.windows.net, *.blob.core.chinacloudapi.cn, *.blob.core.usgovcloudapi.net)")

// Errors of the service principal's identifiers. They never quote the value.
var (
	ErrBadTenantID = errors.New("azureblob: the tenant ID must be the directory's ID (a GUID) or one of its domain names, e.g. contoso.onmicrosoft.com")
	ErrBadClientID = errors.New("azureblob: the client ID must be the application (client) ID, a GUID")
)

// Authority returns the Entra ID authority host of the cloud a blob
// endpoint (as Endpoint returns it) belongs to, e.g.
// https://login.microsoftonline.com/ for https://acct.blob.core.windows.net/,
// or ErrNoAuthority. The token of a service principal goes there only.
func Authority(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return "", ErrNoAuthority
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range authorities {
		if strings.HasSuffix(host, a.blobSuffix) && len(host) > len(a.blobSuffix) {
			return a.authority, nil
		}
	}
	return "", ErrNoAuthority
}

// ValidateTenantID checks a tenant: a GUID, or a domain name of letters,
// digits, hyphens and dots (it goes into the path of the authority's URLs).
func ValidateTenantID(s string) error {
	if isGUID(s) {
		return nil
	}
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return ErrBadTenantID
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ErrBadTenantID
		}
		for i := 0; i < len(label); i++ {
			c := label[i] | 0x20
			if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-') {
				return ErrBadTenantID
			}
		}
	}
	return nil
}

// ValidateClientID checks an application (client) ID: a GUID.
func ValidateClientID(s string) error {
	if !isGUID(s) {
		return ErrBadClientID
	}
	return nil
}

// isGUID reports the 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			c := s[i] | 0x20
			if !(c >= 'a' && c <= 'f' || s[i] >= '0' && s[i] <= '9') {
				return false
			}
		}
	}
	return true
}
