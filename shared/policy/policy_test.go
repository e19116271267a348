package policy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/policy"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	gcsp "github.com/bucketlink/bucketlink/shared/provider/gcs"
	s3p "github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// The check names and codes this package keys its grants and fixes by are
// package verify's (policy cannot import verify, which fills the fixes).
func TestNamesAreVerifys(t *testing.T) {
	pairs := [][2]string{
		{policy.CheckList, verify.CheckList}, {policy.CheckRead, verify.CheckRead}, {policy.CheckWrite, verify.CheckWrite},
		{policy.CheckDelete, verify.CheckDelete}, {policy.CheckPresign, verify.CheckPresign},
		{policy.CodeAccessDenied, verify.CodeAccessDenied}, {policy.CodeBucketNotFound, verify.CodeBucketNotFound},
		{policy.CodeRoleNotAssumable, verify.CodeRoleNotAssumable},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("policy has %q where verify has %q", p[0], p[1])
		}
	}
}

func TestPermissionsPolicy(t *testing.T) {
	tests := []struct {
		name   string
		target policy.Target
		want   string
	}{
		{
			name:   "read_write with a prefix",
			target: policy.Target{Provider: s3p.NameAWS, Bucket: "acme-data", Prefix: "annotations/", Region: "us-west-2"},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"BucketlinkList","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::acme-data"],"Condition":{"StringLike":{"s3:prefix":["annotations/*"]}}},` +
				`{"Sid":"BucketlinkRead","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::acme-data/annotations/*"]},` +
				`{"Sid":"BucketlinkWrite","Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::acme-data/annotations/*"]},` +
				`{"Sid":"BucketlinkDelete","Effect":"Allow","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":["arn:aws:s3:::acme-data/annotations/*"]}]}`,
		},
		{
			name:   "read_only without a prefix",
			target: policy.Target{Provider: s3p.NameAWS, Bucket: "acme-data", Mode: policy.ReadOnly},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"BucketlinkList","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::acme-data"]},` +
				`{"Sid":"BucketlinkRead","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::acme-data/*"]}]}`,
		},
		{
			name:   "a prefix with IAM's special characters is matched literally",
			target: policy.Target{Provider: s3p.NameAWS, Bucket: "b-1", Prefix: "a*b?c$/", Mode: policy.ReadOnly},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"BucketlinkList","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b-1"],"Condition":{"StringLike":{"s3:prefix":["a${*}b${?}c${$}/*"]}}},` +
				`{"Sid":"BucketlinkRead","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b-1/a${*}b${?}c${$}/*"]}]}`,
		},
		{
			name:   "an s3_compatible prefix is written as it is (MinIO has no escapes)",
			target: policy.Target{Provider: s3p.NameCompatible, Bucket: "b-1", Prefix: "a*b?c$/", Mode: policy.ReadOnly},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"BucketlinkList","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b-1"],"Condition":{"StringLike":{"s3:prefix":["a*b?c$/*"]}}},` +
				`{"Sid":"BucketlinkRead","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b-1/a*b?c$/*"]}]}`,
		},
		{
			name:   "China regions are in the aws-cn partition",
			target: policy.Target{Provider: s3p.NameAWS, Bucket: "b-1", Region: "cn-north-1", Mode: policy.ReadOnly},
			want: `{"Version":"2012-10-17","Statement":[` +
				`{"Sid":"BucketlinkList","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws-cn:s3:::b-1"]},` +
				`{"Sid":"BucketlinkRead","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws-cn:s3:::b-1/*"]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(policy.PermissionsPolicy(tt.target))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("policy\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTrustPolicy(t *testing.T) {
	g := policy.GuidanceFor(policy.Target{Provider: s3p.NameAWS, Bucket: "acme-data",
		AWSAccountID: "014424401899", ExternalID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890"})
	if g.AWS == nil || g.AWS.TrustPolicy == nil {
		t.Fatalf("no trust policy: %+v", g)
	}
	got, _ := json.Marshal(g.AWS.TrustPolicy)
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"BucketlinkAssumeRole","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::014424401899:root"},"Action":["sts:AssumeRole"],` +
		`"Condition":{"StringEquals":{"sts:ExternalId":["a1b2c3d4-e5f6-7890-abcd-ef1234567890"]}}}]}`
	if string(got) != want {
		t.Errorf("trust policy\n got %s\nwant %s", got, want)
	}
	if g := policy.GuidanceFor(policy.Target{Provider: s3p.NameCompatible, Bucket: "b-1"}); g.AWS == nil || g.AWS.TrustPolicy != nil {
		t.Errorf("s3_compatible: %+v, want a permissions policy and no trust policy", g.AWS)
	}
}

func TestGCSGuidance(t *testing.T) {
	rw := policy.GuidanceFor(policy.Target{Provider: gcsp.Name, Bucket: "acme-data", Prefix: "it's/"})
	if rw.GCS == nil || rw.AWS != nil || rw.Azure != nil {
		t.Fatalf("guidance %+v, want GCS only", rw)
	}
	if rw.GCS.Role != "roles/storage.objectUser" {
		t.Errorf("role %s", rw.GCS.Role)
	}
	if want := []string{"storage.objects.list", "storage.objects.get", "storage.objects.create", "storage.objects.delete"}; !reflect.DeepEqual(rw.GCS.Permissions, want) {
		t.Errorf("permissions %v, want %v", rw.GCS.Permissions, want)
	}
	wantCond := `resource.type == "storage.googleapis.com/Bucket" || resource.name.startsWith("projects/_/buckets/acme-data/objects/it's/")`
	if rw.GCS.Condition != wantCond {
		t.Errorf("condition %s, want %s", rw.GCS.Condition, wantCond)
	}
	want := []string{
		"gcloud storage buckets add-iam-policy-binding gs://acme-data --member=serviceAccount:SERVICE_ACCOUNT_EMAIL --role=roles/storage.objectUser",
		"gcloud storage buckets add-iam-policy-binding gs://acme-data --member=serviceAccount:SERVICE_ACCOUNT_EMAIL --role=roles/storage.objectUser " +
			`--condition='expression=` + strings.ReplaceAll(wantCond, "'", `'\''`) + `,title=bucketlink-prefix'`,
		"gcloud iam roles create bucketlinkAccess --project=PROJECT_ID --title=bucketlink " +
			"--permissions=storage.objects.list,storage.objects.get,storage.objects.create,storage.objects.delete",
	}
	if !reflect.DeepEqual(rw.GCS.Commands, want) {
		t.Errorf("commands\n got %q\nwant %q", rw.GCS.Commands, want)
	}

	ro := policy.GuidanceFor(policy.Target{Provider: gcsp.Name, Bucket: "acme-data", Mode: policy.ReadOnly})
	if ro.GCS.Role != "roles/storage.objectViewer" || len(ro.GCS.Permissions) != 2 || ro.GCS.Condition != "" || len(ro.GCS.Commands) != 2 {
		t.Errorf("read_only without prefix: %+v", ro.GCS)
	}
}

func TestAzureGuidance(t *testing.T) {
	for _, tt := range []struct {
		mode       policy.AccessMode
		sas, role  string
		nDataActns int
	}{
		{policy.ReadWrite, "rwdl", "Storage Blob Data Contributor", 3},
		{policy.ReadOnly, "rl", "Storage Blob Data Reader", 1},
	} {
		g := policy.GuidanceFor(policy.Target{Provider: azure.Name, Bucket: "datasets", Mode: tt.mode})
		if g.Azure == nil {
			t.Fatalf("%s: no Azure guidance", tt.mode)
		}
		a := g.Azure
		if a.SASPermissions != tt.sas || a.Role != tt.role || len(a.DataActions) != tt.nDataActns {
			t.Errorf("%s: %+v", tt.mode, a)
		}
		if !strings.Contains(a.SASCommand, " --permissions "+tt.sas+" ") || !strings.Contains(a.SASCommand, "--name 'datasets'") {
			t.Errorf("%s: SAS command %s", tt.mode, a.SASCommand)
		}
		if !strings.Contains(a.RoleCommand, "--role '"+tt.role+"'") || !strings.HasSuffix(a.RoleCommand, "/blobServices/default/containers/datasets'") {
			t.Errorf("%s: role command %s", tt.mode, a.RoleCommand)
		}
	}
}

func TestFixFor(t *testing.T) {
	s3 := policy.Target{Provider: s3p.NameAWS, Bucket: "acme-data", Prefix: "p/"}
	role := s3
	role.IAMRole, role.AWSAccountID, role.ExternalID = true, "014424401899", "ext-1"
	kms := s3
	kms.KMSKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	gcs := policy.Target{Provider: gcsp.Name, Bucket: "acme-data"}
	sas := policy.Target{Provider: azure.Name, Bucket: "datasets", AzureSAS: true}
	key := policy.Target{Provider: azure.Name, Bucket: "datasets"}
	tests := []struct {
		name        string
		target      policy.Target
		check, code string
		missing     []string // nil: no fix
		role, sid   string
		resource    string
	}{
		{"s3 list denied", s3, "list", "access_denied", []string{"s3:ListBucket"}, "", "BucketlinkList", "arn:aws:s3:::acme-data"},
		{"s3 bucket not found", s3, "list", "bucket_not_found", []string{"s3:ListBucket"}, "", "BucketlinkList", "arn:aws:s3:::acme-data"},
		{"s3 read", s3, "read", "access_denied", []string{"s3:GetObject"}, "", "BucketlinkRead", "arn:aws:s3:::acme-data/p/*"},
		{"s3 write", s3, "write", "access_denied", []string{"s3:PutObject"}, "", "BucketlinkWrite", "arn:aws:s3:::acme-data/p/*"},
		{"s3 presign needs write's", s3, "presign", "access_denied", []string{"s3:PutObject"}, "", "BucketlinkWrite", "arn:aws:s3:::acme-data/p/*"},
		{"s3 delete", s3, "delete", "access_denied", []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, "", "BucketlinkDelete", "arn:aws:s3:::acme-data/p/*"},
		{"role trust", role, "list", "role_not_assumable", []string{"sts:AssumeRole"}, "", "BucketlinkAssumeRole", ""},
		{"kms write", kms, "write", "kms_access_denied", []string{"kms:GenerateDataKey"}, "", "BucketlinkKMSGenerateDataKey", kms.KMSKeyARN},
		{"kms read", kms, "read", "kms_access_denied", []string{"kms:Decrypt"}, "", "BucketlinkKMSDecrypt", kms.KMSKeyARN},
		{"kms without a key ARN", s3, "read", "kms_access_denied", []string{"kms:Decrypt"}, "", "BucketlinkKMSDecrypt", "KMS_KEY_ARN"},
		{"gcs read", gcs, "read", "access_denied", []string{"storage.objects.get"}, "roles/storage.objectViewer", "", ""},
		{"gcs write", gcs, "write", "access_denied", []string{"storage.objects.create"}, "roles/storage.objectUser", "", ""},
		{"gcs delete", gcs, "delete", "access_denied", []string{"storage.objects.delete"}, "roles/storage.objectUser", "", ""},
		{"sas list", sas, "list", "access_denied", []string{"SAS permission l"}, "Storage Blob Data Reader", "", ""},
		{"sas delete", sas, "delete", "access_denied", []string{"SAS permission d"}, "Storage Blob Data Contributor", "", ""},
		{"azure key: nothing to grant", key, "read", "access_denied", nil, "", "", ""},
		{"wrong key is no grant", s3, "list", "invalid_access_key", nil, "", "", ""},
		{"wrong region is no grant", s3, "list", "wrong_region", nil, "", "", ""},
		{"bucket_not_found only on list", s3, "read", "bucket_not_found", nil, "", "", ""},
		{"a skipped check has no fix", s3, "read", "skipped", nil, "", "", ""},
		{"role_not_assumable is aws_s3's", gcs, "list", "role_not_assumable", nil, "", "", ""},
		{"kms has no delete", kms, "delete", "kms_access_denied", nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := policy.FixFor(tt.target, tt.check, tt.code)
			if tt.missing == nil {
				if f != nil {
					t.Fatalf("fix %+v, want none", f)
				}
				return
			}
			if f == nil {
				t.Fatal("no fix")
			}
			if !reflect.DeepEqual(f.Missing, tt.missing) || f.Role != tt.role || f.Note == "" {
				t.Errorf("fix %+v, want missing %v, role %q and a note", f, tt.missing, tt.role)
			}
			switch {
			case tt.sid == "" && f.Statement != nil:
				t.Errorf("statement %+v, want none", f.Statement)
			case tt.sid != "" && (f.Statement == nil || f.Statement.Sid != tt.sid || !reflect.DeepEqual(f.Statement.Action, tt.missing)):
				t.Errorf("statement %+v, want %s allowing %v", f.Statement, tt.sid, tt.missing)
			case tt.resource != "" && !reflect.DeepEqual(f.Statement.Resource, []string{tt.resource}):
				t.Errorf("resource %v, want %s", f.Statement.Resource, tt.resource)
			}
			if tt.target.Provider != s3p.NameAWS && f.Command == "" {
				t.Error("no command")
			}
		})
	}
	// The trust fix names what setup-info shows.
	f := policy.FixFor(role, "list", "role_not_assumable")
	if f.Statement.Principal.AWS != "arn:aws:iam::014424401899:root" || f.Statement.Condition["StringEquals"]["sts:ExternalId"][0] != "ext-1" {
		t.Errorf("trust statement %+v", f.Statement)
	}
	if f := policy.FixFor(s3, "list", "role_not_assumable"); !strings.Contains(f.Statement.Principal.AWS, policy.PlaceholderAccountID) {
		t.Errorf("without the account ID: %+v", f.Statement.Principal)
	}
}

func TestParseAccessMode(t *testing.T) {
	for in, want := range map[string]policy.AccessMode{"": policy.ReadWrite, "read_write": policy.ReadWrite, "read_only": policy.ReadOnly} {
		if got, ok := policy.ParseAccessMode(in); !ok || got != want {
			t.Errorf("ParseAccessMode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"READ_ONLY", "write", " read_only"} {
		if _, ok := policy.ParseAccessMode(bad); ok {
			t.Errorf("ParseAccessMode(%q) accepted", bad)
		}
	}
}

// TestAzurePrincipalFix checks the fix of a service principal's check: the
// role of the access mode, assigned on the container, and that the target
// of a config knows its principal and mode.
func TestAzurePrincipalFix(t *testing.T) {
	sp := policy.Target{Provider: azure.Name, Bucket: "datasets", AzurePrincipal: true}
	for _, tt := range []struct {
		mode  policy.AccessMode
		check string
		role  string
	}{
		{policy.ReadWrite, policy.CheckList, policy.AzureRoleReadWrite},
		{policy.ReadWrite, policy.CheckDelete, policy.AzureRoleReadWrite},
		{policy.ReadOnly, policy.CheckList, policy.AzureRoleReadOnly},
		{policy.ReadOnly, policy.CheckRead, policy.AzureRoleReadOnly},
	} {
		sp.Mode = tt.mode
		f := policy.FixFor(sp, tt.check, policy.CodeAccessDenied)
		if f == nil || f.Role != tt.role || !strings.Contains(f.Command, "--role '"+tt.role+"'") ||
			!strings.Contains(f.Command, "/containers/datasets") || len(f.Missing) != 1 || !strings.HasPrefix(f.Missing[0], "Microsoft.Storage/") {
			t.Errorf("%s %s: fix = %+v, want the role %s", tt.mode, tt.check, f, tt.role)
		}
	}
	c := &storageconfig.Config{Provider: azure.Name, AccessMode: storageconfig.AccessReadOnly,
		Settings: &azure.Settings{Account: "acme", Container: "datasets", Auth: azure.AuthServicePrincipal}}
	if tg := policy.TargetOf(c, storageconfig.Credentials{azure.CredClientSecret: "s"}); !tg.AzurePrincipal || tg.AzureSAS || tg.Mode != policy.ReadOnly {
		t.Errorf("TargetOf = %+v", tg)
	}
}
