package policy

import (
	"strings"
)

// The Cloud Storage permissions each check uses (JSON API calls of
// shared/blob/gcsblob, and the same calls over the XML API for an HMAC
// key): objects.list under the prefix, a ranged objects.get, an
// objects.insert of the probe (storage.objects.create; the key is new, so
// no storage.objects.delete for an overwrite) and its objects.delete.
var gcsPermissions = map[string]string{
	CheckList:   "storage.objects.list",
	CheckRead:   "storage.objects.get",
	CheckWrite:  "storage.objects.create",
	CheckDelete: "storage.objects.delete",
}

// The predefined roles that grant them: Storage Object Viewer holds list
// and get; Storage Object User adds create, delete and update, and nothing
// on the bucket's IAM policy (unlike Storage Object Admin).
const (
	GCSRoleReadOnly  = "roles/storage.objectViewer"
	GCSRoleReadWrite = "roles/storage.objectUser"
)

// PlaceholderServiceAccount stands for the service account of the key the
// config holds (the client_email of a JSON key; the owner of an HMAC key).
const (
	PlaceholderServiceAccount = "SERVICE_ACCOUNT_EMAIL"
	PlaceholderProject        = "PROJECT_ID"
)

// GCSGuidance is the grant of a gc_storage target.
type GCSGuidance struct {
	// Role is the predefined role to grant on the bucket.
	Role string `json:"role"`
	// Permissions are exactly the permissions the checks use, for a
	// custom role instead of Role.
	Permissions []string `json:"permissions"`
	// Commands: the gcloud command that grants Role on the bucket; with a
	// prefix, the same binding confined to it by Condition; and the custom
	// role of Permissions, to bind instead of Role.
	Commands []string `json:"commands"`
	// Condition (with a prefix) is the IAM condition that confines the
	// binding to the prefix's objects (the bucket needs uniform
	// bucket-level access); listing is a permission on the bucket, which
	// it keeps.
	Condition string   `json:"condition,omitempty"`
	Notes     []string `json:"notes"`
}

func gcsRole(t Target) string {
	if t.mode() == ReadOnly {
		return GCSRoleReadOnly
	}
	return GCSRoleReadWrite
}

// gcsRoleFor is the least role that holds check's permission.
func gcsRoleFor(check string) string {
	if check == CheckList || check == CheckRead {
		return GCSRoleReadOnly
	}
	return GCSRoleReadWrite
}

func gcsGuidance(t Target) *GCSGuidance {
	g := &GCSGuidance{Role: gcsRole(t)}
	for _, c := range Checks(t.mode()) {
		g.Permissions = append(g.Permissions, gcsPermissions[c])
	}
	g.Commands = append(g.Commands, gcsBindCommand(t.Bucket, g.Role, ""))
	if t.Prefix != "" {
		g.Condition = gcsCondition(t)
		g.Commands = append(g.Commands, gcsBindCommand(t.Bucket, g.Role, g.Condition))
	}
	g.Commands = append(g.Commands,
		"gcloud iam roles create bucketlinkAccess --project="+PlaceholderProject+" --title=bucketlink --permissions="+strings.Join(g.Permissions, ","))
	g.Notes = []string{
		"Grant the role to the service account of the key the storage config holds (its client_email, or the owner of the HMAC key).",
		"To grant exactly the permissions instead, create the custom role and bind projects/" + PlaceholderProject + "/roles/bucketlinkAccess in place of " + g.Role + ".",
	}
	return g
}

// gcsCondition is the CEL expression that admits the prefix's objects and
// the bucket itself (where storage.objects.list is checked).
func gcsCondition(t Target) string {
	return `resource.type == "storage.googleapis.com/Bucket" || resource.name.startsWith("projects/_/buckets/` +
		celText(t.Bucket) + `/objects/` + celText(t.Prefix) + `")`
}

// gcsBindCommand grants role on bucket to the service account, under the
// CEL condition cond when it is not "".
func gcsBindCommand(bucket, role, cond string) string {
	cmd := "gcloud storage buckets add-iam-policy-binding gs://" + bucket +
		" --member=serviceAccount:" + PlaceholderServiceAccount + " --role=" + role
	if cond != "" {
		cmd += " --condition=" + shellQuote("expression="+cond+",title=bucketlink-prefix")
	}
	return cmd
}

func gcsFix(t Target, check string) *Fix {
	role := gcsRoleFor(check)
	return &Fix{
		Missing: []string{gcsPermissions[check]},
		Role:    role,
		Command: gcsBindCommand(t.Bucket, role, ""),
		Note:    "Grant the role (or a custom role with the permission) on the bucket to the service account of the key.",
	}
}

// celText escapes s for a double-quoted CEL string literal.
func celText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// shellQuote quotes s for a POSIX shell: in single quotes, with each
// single quote closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
