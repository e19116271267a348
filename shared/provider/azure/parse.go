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
	if msg != "" {
		errs.Add("azure_endpoint_url", "%s", msg)
	} else if accountOK {
		s.Endpoint = azrules.Endpoint(account, endpoint)
	}
	return checkAzureCredentials(errs, in)
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
