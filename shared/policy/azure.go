package policy

import (
	"strings"
)

// The SAS permission each check needs (shared/blob/azureblob: List Blobs,
// a ranged Get Blob, a Put Blob of the probe, Delete Blob), in the order
// Azure writes them (racwdl), and the RBAC data action behind it.
var (
	sasLetters = map[string]string{
		CheckList:   "l",
		CheckRead:   "r",
		CheckWrite:  "w",
		CheckDelete: "d",
	}
	azureDataActions = map[string]string{
		CheckList:   "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
		CheckRead:   "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
		CheckWrite:  "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
		CheckDelete: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
	}
	sasOrder = "racwdl"
)

// The built-in roles that hold the data actions: Reader for list and
// read, Contributor for write and delete too.
const (
	AzureRoleReadOnly  = "Storage Blob Data Reader"
	AzureRoleReadWrite = "Storage Blob Data Contributor"
)

// Placeholders of the Azure commands.
const (
	PlaceholderAccountName = "ACCOUNT_NAME"
	PlaceholderPrincipal   = "PRINCIPAL_ID"
	PlaceholderScope       = "/subscriptions/SUBSCRIPTION_ID/resourceGroups/RESOURCE_GROUP/providers/Microsoft.Storage/storageAccounts/ACCOUNT_NAME"
	PlaceholderExpiry      = "EXPIRY"
)

// AzureGuidance is the grant of an azure_blob target. bucketlink signs in
// with an account key, a SAS token or a service principal; a SAS token
// holds SASPermissions, a service principal the RBAC Role. A user
// delegation SAS is limited further by the Role of whoever signs it.
type AzureGuidance struct {
	// SASPermissions is the subset of racwdl the checks need.
	SASPermissions string `json:"sas_permissions"`
	// SASCommand creates a service SAS for the container with them.
	SASCommand string `json:"sas_command"`
	// Role is the RBAC role whose data actions the checks need.
	Role string `json:"role"`
	// RoleCommand assigns Role on the container.
	RoleCommand string `json:"role_command"`
	// DataActions are the RBAC data actions the checks use.
	DataActions []string `json:"data_actions"`
	Notes       []string `json:"notes"`
}

func azureRole(t Target) string {
	if t.mode() == ReadOnly {
		return AzureRoleReadOnly
	}
	return AzureRoleReadWrite
}

// SASPermissions returns the SAS permissions of t's checks, in racwdl order.
func SASPermissions(t Target) string {
	var need []string
	for _, c := range Checks(t.mode()) {
		need = append(need, sasLetters[c])
	}
	var b strings.Builder
	for _, l := range sasOrder {
		for _, n := range need {
			if n == string(l) {
				b.WriteRune(l)
				break
			}
		}
	}
	return b.String()
}

func azureGuidance(t Target) *AzureGuidance {
	g := &AzureGuidance{SASPermissions: SASPermissions(t), Role: azureRole(t)}
	g.SASCommand = "az storage container generate-sas --account-name " + PlaceholderAccountName + " --name " + shellQuote(t.Bucket) +
		" --permissions " + g.SASPermissions + " --expiry " + PlaceholderExpiry + " --https-only --auth-mode key"
	g.RoleCommand = azureRoleCommand(t, g.Role)
	seen := map[string]bool{}
	for _, c := range Checks(t.mode()) {
		if a := azureDataActions[c]; !seen[a] {
			seen[a] = true
			g.DataActions = append(g.DataActions, a)
		}
	}
	g.Notes = []string{
		"An account key has every permission; a SAS token needs sas_permissions, on the container (sr=c) or, as an account SAS, on blob containers and objects (ss=b, srt=co).",
		"A user delegation SAS (generate-sas --as-user --auth-mode login) also needs its signer to hold the role, and lasts at most 7 days.",
		"A service principal (azure_auth_method \"service_principal\") needs the role itself: run role_command with its object ID " +
			"(az ad sp show --id CLIENT_ID --query id) as " + PlaceholderPrincipal + "; bucketlink's presigned uploads are then user delegation SAS it signs.",
	}
	if t.Prefix != "" {
		g.Notes = append(g.Notes, "A container SAS and a role on the container cover the whole container, not only the prefix.")
	}
	return g
}

func azureRoleCommand(t Target, role string) string {
	return "az role assignment create --role " + shellQuote(role) + " --assignee " + PlaceholderPrincipal +
		" --scope " + shellQuote(PlaceholderScope+"/blobServices/default/containers/"+t.Bucket)
}

// azurePrincipalFix is the fix of a service principal's check: the role of
// t's access mode (a reader's list and read are a contributor's too), to
// assign to the principal on the container.
func azurePrincipalFix(t Target, check string) *Fix {
	role := azureRole(t)
	return &Fix{
		Missing: []string{azureDataActions[check]},
		Role:    role,
		Command: azureRoleCommand(t, role),
		Note: "Assign the role " + role + " to the service principal (az ad sp show --id CLIENT_ID --query id gives its " +
			PlaceholderPrincipal + ") on the container or its storage account; a new assignment can take up to 10 minutes to apply.",
	}
}

func azureFix(t Target, check string) *Fix {
	role := AzureRoleReadOnly
	if check == CheckWrite || check == CheckDelete {
		role = AzureRoleReadWrite
	}
	return &Fix{
		Missing: []string{"SAS permission " + sasLetters[check]},
		Role:    role,
		Command: "az storage container generate-sas --account-name " + PlaceholderAccountName + " --name " + shellQuote(t.Bucket) +
			" --permissions " + SASPermissions(t) + " --expiry " + PlaceholderExpiry + " --https-only --auth-mode key",
		Note: "Create a SAS token with the permissions " + SASPermissions(t) + " and update the storage config with it; " +
			"for a user delegation SAS, its signer also needs the role " + role + ".",
	}
}
