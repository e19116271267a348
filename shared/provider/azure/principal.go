package azure

import (
	"errors"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// entraError is implemented by the Azure driver's error for a token
// request of a service principal that Entra ID refused or that failed
// (azureblob.EntraError); this package does not link the driver.
type entraError interface {
	error
	// EntraRejected is the part Entra refused: "tenant", "client" or
	// "secret"; "" for another failure.
	EntraRejected() string
	// EntraCode is Entra's AADSTS code; "" when there was no answer.
	EntraCode() string
}

// The messages of a service principal's refusals. They never quote the
// secret.
const (
	msgTenantRejected = "Microsoft Entra ID has no such tenant (directory): check azure_tenant_id, the Directory (tenant) ID " +
		"on the Overview page of Microsoft Entra ID, or a verified domain of the tenant, in the cloud of the storage account."
	msgClientRejected = "Microsoft Entra ID has no application with this ID in the tenant, or it is disabled: check azure_client_id, " +
		"the Application (client) ID of the app registration (not its object ID), and that it belongs to azure_tenant_id."
	msgSecretRejected = "Microsoft Entra ID refused the client secret: it is wrong or expired. Give the secret's Value " +
		"(shown once when it is created under Certificates & secrets), not its Secret ID, or create a new one."
	msgTokenRejected = "Azure Storage did not accept the service principal's token: the storage account belongs to another " +
		"tenant (directory) than azure_tenant_id, or it does not allow Microsoft Entra ID sign-in."
	msgEntraUnavailable = "bucketlink could not get a token for the service principal from Microsoft Entra ID right now; " +
		"this is not a problem with its credentials. Try again in a few minutes."
	msgFederationRejected = "The application does not trust bucketlink's identity: add a federated credential to it " +
		"(App registrations, your application, Certificates & secrets, Federated credentials, Other issuer) with the issuer, " +
		"subject and audience that GET /api/v1/storage-configs/setup-info/ shows as azure_federated_credential, " +
		"and check that azure_client_id and azure_tenant_id are the application's."
)

// principalPerms names the data actions each check needs.
var principalPerms = map[string]string{
	contract.CheckList:    "to list blobs (data action .../containers/blobs/read)",
	contract.CheckRead:    "to read blobs (data action .../containers/blobs/read)",
	contract.CheckWrite:   "to write blobs (data action .../containers/blobs/write)",
	contract.CheckDelete:  "to delete blobs (data action .../containers/blobs/delete)",
	contract.CheckPresign: "to get a user delegation key and write blobs (data actions .../generateUserDelegationKey/action and .../containers/blobs/write)",
}

// Role returns the RBAC role a service principal needs for a config:
// Storage Blob Data Contributor, or Storage Blob Data Reader for a
// read-only one.
func Role(readOnly bool) string {
	if readOnly {
		return azrules.RoleBlobReader
	}
	return azrules.RoleBlobContributor
}

// ReportMode implements contract.ModeReporter: a service principal's
// report names the role of the access mode.
func (s *Settings) ReportMode(creds contract.Credentials, readOnly bool) contract.Report {
	r := s.Report(creds)
	if s.ServicePrincipal() {
		r.Grant = principalGrant(readOnly)
	}
	return r
}

// principalGrant says which role to assign.
func principalGrant(readOnly bool) string {
	return "Assign the service principal the role " + Role(readOnly) + " on the container (or its storage account); " +
		"a new role assignment can take up to 10 minutes to apply. Also check that the account's firewall admits bucketlink."
}

// principalReport is the report of a service principal's config: Entra's
// refusals on the field of the part refused, a token Azure Storage refused
// on the tenant, a missing data role on the client ID naming the role.
func (s *Settings) principalReport(r contract.Report, creds contract.Credentials) contract.Report {
	r.Secret, r.Denied, r.Role = FieldTenantID, FieldClientID, FieldClientID
	r.MsgBadSecret = msgTokenRejected
	r.Who, r.Are = "The service principal", "is"
	r.Perms = principalPerms
	r.DeniedBeforeBucket = true
	r.Grant = principalGrant(false)
	r.Classify = classifyPrincipal
	var missing []contract.Missing
	if s.TenantID == "" {
		missing = append(missing, contract.Missing{Field: FieldTenantID, Msg: "A tenant ID is required."})
	}
	if s.ClientID == "" {
		missing = append(missing, contract.Missing{Field: FieldClientID, Msg: "A client ID is required."})
	}
	if creds[CredClientSecret] == "" && !s.Federated() {
		missing = append(missing, contract.Missing{Field: FieldClientSecret, Msg: "A client secret is required.", Secret: true})
	}
	r.Missing = missing
	return r
}

// classifyPrincipal reports a service principal's token request that
// failed: a refused part on its field, another refusal (by its AADSTS
// code) on the client ID, and no answer from Entra as unavailable.
func classifyPrincipal(_ string, err error) (contract.Failure, bool) {
	var ee entraError
	if !errors.As(err, &ee) {
		return contract.Failure{}, false
	}
	switch ee.EntraRejected() {
	case "tenant":
		return contract.Failure{Code: contract.CodeInvalidAccessKey, Field: FieldTenantID, Msg: msgTenantRejected}, true
	case "client":
		return contract.Failure{Code: contract.CodeInvalidAccessKey, Field: FieldClientID, Msg: msgClientRejected}, true
	case "secret":
		return contract.Failure{Code: contract.CodeSignatureMismatch, Field: FieldClientSecret, Msg: msgSecretRejected}, true
	case "federation":
		return contract.Failure{Code: contract.CodeInvalidAccessKey, Field: FieldClientID, Msg: msgFederationRejected}, true
	}
	if code := ee.EntraCode(); code != "" && strings.HasPrefix(code, "AADSTS") {
		return contract.Failure{Code: contract.CodeInvalidAccessKey, Field: FieldClientID,
			Msg: "Microsoft Entra ID refused the service principal's sign-in with " + code + "; " +
				"see https://login.microsoftonline.com/error?code=" + strings.TrimPrefix(code, "AADSTS") + "."}, true
	}
	return contract.Failure{Code: contract.CodeSTSUnavailable, Field: errcode.NonField, Msg: msgEntraUnavailable}, true
}
