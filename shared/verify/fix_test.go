package verify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestFixes: each failed check of a missing grant carries its fix (package
// policy), on every provider; passed and skipped checks, and failures that
// are not a missing grant, carry none. (The S3 fixes are proven on MinIO
// in package policy.)
func TestFixes(t *testing.T) {
	gcsCfg := &storageconfig.Config{Provider: gcs.Name, Settings: &gcs.Settings{BucketName: "acme-data",
		KeyPrefix: prefix, Auth: gcs.AuthServiceAccount}}
	account, key := testenv.NewAzureAccount(t)
	// A refused endpoint: the SAS cases are decided without connecting.
	azureCfg := &storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: account,
		Container: "datasets", KeyPrefix: prefix,
		Endpoint: azureblob.Endpoint(account, testenv.RefusedEndpoint(t)+"/"+account)}}
	sas := func(perms string) storageconfig.Credentials {
		return storageconfig.Credentials{azure.CredSASToken: testenv.AzureSAS(t, account, key, "datasets", perms, time.Now().Add(time.Hour))}
	}
	gcsKey := storageconfig.Credentials{gcs.CredServiceAccountJSON: anyblobtest.ServiceAccountJSON(t, nil)}
	denied := &verify.Verifier{Opener: deniedOpener{}, Deadline: time.Second}
	tests := []struct {
		name  string
		v     *verify.Verifier
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		want  map[string][]string // check -> the fix's Missing; checks not named have no fix
		role  map[string]string
	}{
		{name: "gc_storage", v: denied, cfg: gcsCfg, creds: gcsKey,
			want: map[string][]string{"read": {"storage.objects.get"}, "write": {"storage.objects.create"}},
			role: map[string]string{"read": "roles/storage.objectViewer", "write": "roles/storage.objectUser"}},
		{name: "azure_blob account key: nothing to grant", v: denied, cfg: azureCfg, creds: storageconfig.Credentials{azure.CredAccountKey: key}},
		{name: "azure_blob sas lacking write and delete", v: denied, cfg: azureCfg, creds: sas("rl"),
			want: map[string][]string{"write": {"SAS permission w"}, "delete": {"SAS permission d"}},
			role: map[string]string{"write": "Storage Blob Data Contributor", "delete": "Storage Blob Data Contributor"}},
		{name: "azure_blob expired sas: no grant", v: denied, cfg: azureCfg,
			creds: storageconfig.Credentials{azure.CredSASToken: testenv.AzureSAS(t, account, key, "datasets", "racwdl", time.Now().Add(-time.Hour))}},
		{name: "aws_s3 unreachable: no grant",
			v:     &verify.Verifier{Opener: &s3open.Opener{AWSEndpoint: testenv.RefusedEndpoint(t)}, Deadline: time.Second},
			cfg:   &storageconfig.Config{Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: "acme-data", Region: "us-east-1"}},
			creds: storageconfig.Credentials{s3.CredAccessKeyID: "AKIAIOSFODNN7EXAMPLE", s3.CredSecretAccessKey: "secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.v.Verify(t.Context(), tt.cfg, tt.creds)
			for _, c := range res.Checks {
				want, ok := tt.want[c.Name]
				switch {
				case !ok && c.Fix != nil:
					t.Errorf("%s (%s) has a fix %+v", c.Name, c.Code, c.Fix)
				case ok && c.Fix == nil:
					t.Errorf("%s (%s: %s) has no fix", c.Name, c.Code, c.Message)
				case ok && (!reflect.DeepEqual(c.Fix.Missing, want) || c.Fix.Role != tt.role[c.Name]):
					t.Errorf("%s: fix %+v, want missing %v and role %q", c.Name, c.Fix, want, tt.role[c.Name])
				}
			}
		})
	}
}
