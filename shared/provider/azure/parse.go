package azure

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// maxAzureCredentialLen bounds an account key or a SAS token.
const maxAzureCredentialLen = 4096

// parseAzure validates the fields of azure_blob configs.
func (s *Settings) parse(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	account, ok := in.Str["azure_account_name"]
	s.Account = account
	accountOK := false
	switch err := azrules.ValidateAccountName(account); {
	case !ok:
		errs.Add("azure_account_name", contract.Required)
	case err != nil:
		errs.Add("azure_account_name", "Invalid storage account name: %s.", ruleDetail(err, azrules.ErrBadAccountName))
	default:
		accountOK = true
	}
	container, ok := in.Str["azure_container_name"]
	s.Container = container
	switch err := azrules.ValidateContainerName(container); {
	case !ok:
		errs.Add("azure_container_name", contract.Required)
	case err != nil:
		errs.Add("azure_container_name", "Invalid container name: %s.", ruleDetail(err, azrules.ErrBadContainerName))
	}
	prefix, msg := contract.NormalizePrefix(in.Str["azure_prefix"])
	if msg != "" {
		errs.Add("azure_prefix", "%s", msg)
	}
	s.KeyPrefix = prefix

	endpoint, msg := normalizeAzureEndpoint(in.Str["azure_endpoint_url"])
	endpointOK := msg == ""
	if !endpointOK {
		errs.Add("azure_endpoint_url", "%s", msg)
	} else if accountOK {
		s.Endpoint = azrules.Endpoint(account, endpoint)
	}
	method, explicit, ok := s.authMethod(errs, in)
	if !ok {
		return contract.Credentials{}
	}
	s.Auth = method
	if method != AuthServicePrincipal && method != AuthWorkloadIdentity {
		for _, f := range []string{FieldTenantID, FieldClientID, FieldClientSecret} {
			if in.Has(f) {
				errs.Add(f, "Only used with azure_auth_method \"service_principal\"; remove it.")
			}
		}
	}
	switch method {
	case AuthServicePrincipal, AuthWorkloadIdentity:
		if endpointOK && accountOK {
			if _, err := azrules.Authority(s.Endpoint); err != nil {
				errs.Add(FieldEndpointURL, "A service principal signs in at the Microsoft Entra ID authority of the endpoint's cloud, "+
					"which bucketlink knows for Azure's public, China and US Government clouds only (https://ACCOUNT.blob.core.windows.net/, "+
					".blob.core.chinacloudapi.cn, .blob.core.usgovcloudapi.net). Use an endpoint of one of them, or an account key or SAS token.")
			}
		}
		return s.checkPrincipal(errs, in, method)
	case AuthAccountKey, AuthSASToken:
		if !explicit {
			// As before azure_auth_method existed.
			break
		}
		other := map[string]string{AuthAccountKey: FieldSASToken, AuthSASToken: FieldAccountKey}[method]
		if in.Has(other) {
			errs.Add(other, "Not used with azure_auth_method \"%s\"; remove it.", method)
			return contract.Credentials{}
		}
		if f := map[string]string{AuthAccountKey: FieldAccountKey, AuthSASToken: FieldSASToken}[method]; !in.Has(f) {
			errs.Add(f, "This field is required with azure_auth_method \"%s\".", method)
			return contract.Credentials{}
		}
	}
	return checkAzureCredentials(errs, in)
}

// authMethod returns the config's auth method: azure_auth_method, or,
// absent, the one its credentials imply (an account key or a SAS token,
// as before the field existed; the fields of a service principal without
// either, service_principal). With neither, the key's and the token's own
// checks report them missing. explicit reports a method the request named.
func (s *Settings) authMethod(errs errcode.FieldErrors, in contract.Input) (method string, explicit, ok bool) {
	m, given := in.Str[FieldAuthMethod]
	switch {
	case !given && in.Has(FieldAccountKey):
		return AuthAccountKey, false, true
	case !given && in.Has(FieldSASToken):
		return AuthSASToken, false, true
	case !given && (in.Has(FieldTenantID) || in.Has(FieldClientID) || in.Has(FieldClientSecret)):
		return AuthServicePrincipal, false, true
	case !given:
		return "", false, true
	}
	switch m {
	case AuthAccountKey, AuthSASToken, AuthServicePrincipal, AuthWorkloadIdentity:
		return m, true, true
	}
	errs.Add(FieldAuthMethod, "Use \"account_key\" (with azure_account_key), \"sas_token\" (with azure_sas_token), "+
		"\"service_principal\" (with azure_tenant_id, azure_client_id and azure_client_secret) or "+
		"\"workload_identity\" (with azure_tenant_id and azure_client_id, no secret).")
	return "", true, false
}

// checkPrincipal validates a service principal's fields, which the
// service_principal and workload_identity methods require (the secret
// only the first); no account key or SAS token is used with them. The
// tenant and client IDs are kept in lower case (Entra ID compares them
// so); messages never quote the secret.
func (s *Settings) checkPrincipal(errs errcode.FieldErrors, in contract.Input, method string) contract.Credentials {
	refused := []string{FieldAccountKey, FieldSASToken}
	if method == AuthWorkloadIdentity {
		refused = append(refused, FieldClientSecret)
	}
	for _, f := range refused {
		if in.Has(f) {
			errs.Add(f, "Not used with azure_auth_method \"%s\": bucketlink signs in as the service principal%s. Remove it.", method,
				map[bool]string{true: " with its own federated identity, without a secret", false: ""}[method == AuthWorkloadIdentity])
		}
	}
	tenant, ok := in.Str[FieldTenantID]
	s.TenantID = strings.ToLower(strings.TrimSpace(tenant))
	switch {
	case !ok || s.TenantID == "":
		errs.Add(FieldTenantID, "This field is required with azure_auth_method \"%s\": the directory (tenant) ID, "+
			"a GUID, or one of the tenant's verified domains such as contoso.onmicrosoft.com.", method)
	case azrules.ValidateTenantID(s.TenantID) != nil:
		errs.Add(FieldTenantID, "Give the directory (tenant) ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47 "+
			"(Microsoft Entra ID, Overview, Tenant ID), or one of the tenant's verified domains such as contoso.onmicrosoft.com.")
	}
	client, ok := in.Str[FieldClientID]
	s.ClientID = strings.ToLower(strings.TrimSpace(client))
	switch {
	case !ok || s.ClientID == "":
		errs.Add(FieldClientID, "This field is required with azure_auth_method \"%s\": the application (client) ID, a GUID.", method)
	case azrules.ValidateClientID(s.ClientID) != nil:
		errs.Add(FieldClientID, "Give the application (client) ID, a GUID such as 00000000-0000-0000-0000-000000000000 "+
			"(App registrations, your application, Overview, Application (client) ID); not its name or object ID.")
	}
	if method == AuthWorkloadIdentity {
		return contract.Credentials{}
	}
	secret, ok := in.Str[FieldClientSecret]
	secret = strings.TrimSpace(secret)
	switch {
	case !ok:
		errs.Add(FieldClientSecret, "This field is required with azure_auth_method \"service_principal\": a client secret of the application.")
		return contract.Credentials{}
	case secret == "":
		errs.Add(FieldClientSecret, "This field may not be blank.")
	case len(secret) > maxAzureCredentialLen:
		errs.Add(FieldClientSecret, "A client secret is at most %d characters.", maxAzureCredentialLen)
	}
	return contract.Credentials{CredClientSecret: secret}
}

// normalizeAzureEndpoint checks the optional azure_endpoint_url: "" means
// the account's endpoint in Azure's public cloud. Unlike an S3 endpoint it
// may have a path (Azurite serves accounts at /{account}). Whether its
// address may be dialled, and whether plain http is allowed (only where
// the operator allows private endpoints), is decided by the client that
// connects (package netguard), which this package does not know.
func normalizeAzureEndpoint(raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", ""
	case len(raw) > 2048:
		return "", "Enter a valid URL such as https://myaccount.blob.core.chinacloudapi.cn/."
	case !strings.HasPrefix(strings.ToLower(raw), "https://") && !strings.HasPrefix(strings.ToLower(raw), "http://"):
		return "", "The endpoint must start with https:// (http:// is only for emulators, where the operator allows private endpoints)."
	case azrules.ValidateEndpoint(raw) != nil:
		return "", "Enter the blob endpoint as a URL with a host and no user name, password, query or fragment, such as https://myaccount.blob.core.usgovcloudapi.net/."
	}
	return raw, ""
}

// checkAzureCredentials validates the account key or SAS token: exactly
// one of the two is required. Messages never quote either.
func checkAzureCredentials(errs errcode.FieldErrors, in contract.Input) contract.Credentials {
	key, hasKey := in.Str["azure_account_key"]
	token, hasToken := in.Str["azure_sas_token"]
	switch {
	case !hasKey && !hasToken:
		const msg = "Give either azure_account_key or azure_sas_token."
		errs.Add("azure_account_key", msg)
		errs.Add("azure_sas_token", msg)
		return contract.Credentials{}
	case hasKey && hasToken:
		const msg = "Give either azure_account_key or azure_sas_token, not both."
		errs.Add("azure_account_key", msg)
		errs.Add("azure_sas_token", msg)
		return contract.Credentials{}
	case hasKey:
		key = strings.TrimSpace(key)
		switch {
		case key == "":
			errs.Add("azure_account_key", "This field may not be blank.")
		case len(key) > maxAzureCredentialLen || !validBase64(key):
			errs.Add("azure_account_key", "An account key is the base64 value the Azure portal shows under Security + networking, Access keys; this value is not valid base64.")
		}
		return contract.Credentials{CredAccountKey: key}
	}
	token = strings.TrimPrefix(strings.TrimSpace(token), "?")
	if len(token) > maxAzureCredentialLen {
		errs.Add("azure_sas_token", "A SAS token is at most %d characters.", maxAzureCredentialLen)
		return contract.Credentials{}
	}
	if _, err := azrules.ParseSAS(token); err != nil {
		errs.Add("azure_sas_token", "%s", sasMessage(err))
	}
	return contract.Credentials{CredSASToken: token}
}

// sasMessage says what is wrong with a SAS token without quoting it.
func sasMessage(err error) string {
	var p *azrules.SASProblem
	if errors.As(err, &p) && p.Kind == azrules.ProblemMalformed && p.Detail != "" {
		return "The SAS token is malformed: " + p.Detail + ". Give the query string of a SAS URL (sv=...&sig=...), with or without the leading '?'."
	}
	return "The SAS token is malformed. Give the query string of a SAS URL (sv=...&sig=...), with or without the leading '?'."
}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// ruleDetail returns the part of a validation error after its sentinel's
// text ("it must be 3 to 24 characters long"), or a generic phrase.
func ruleDetail(err, sentinel error) string {
	if d, ok := strings.CutPrefix(err.Error(), sentinel.Error()+": "); ok && d != "" {
		return d
	}
	return "it does not follow Azure's naming rules"
}
