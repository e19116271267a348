package verify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestFixes: each failed check of a missing grant carries its fix (package
// policy), on every provider; passed and skipped checks, and failures that
// are not a missing grant, carry none. (The S3 fixes are proven on MinIO
// in package policy.)
func TestFixes(t *testing.T) {
	gcs := &storageconfig.Config{Provider: storageconfig.ProviderGCStorage, GCStorageBucketName: "acme-data",
		GCStoragePrefix: prefix, GCStorageAuthMethod: storageconfig.GCSAuthServiceAccount}
	account, key := testenv.NewAzureAccount(t)
	// A refused endpoint: the SAS cases are decided without connecting.
	azure := &storageconfig.Config{Provider: storageconfig.ProviderAzureBlob, AzureAccountName: account,
		AzureContainerName: "datasets", AzurePrefix: prefix,
		AzureEndpointURL: azureblob.Endpoint(account, testenv.RefusedEndpoint(t)+"/"+account)}
	sas := func(perms string) storageconfig.Credentials {
		return storageconfig.Credentials{AzureSASToken: testenv.AzureSAS(t, account, key, "datasets", perms, time.Now().Add(time.Hour))}
	}
	gcsKey := storageconfig.Credentials{ServiceAccountJSON: anyblobtest.ServiceAccountJSON(t, nil)}
	denied := &verify.Verifier{Opener: deniedOpener{}, Deadline: time.Second}
	tests := []struct {
		name  string
		v     *verify.Verifier
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		want  map[string][]string // check -> the fix's Missing; checks not named have no fix
		role  map[string]string
	}{
		{name: "gc_storage", v: denied, cfg: gcs, creds: gcsKey,
			want: map[string][]string{"read": {"storage.objects.get"}, "write": {"storage.objects.create"}},
			role: map[string]string{"read": "roles/storage.objectViewer", "write": "roles/storage.objectUser"}},
		{name: "azure_blob account key: nothing to grant", v: denied, cfg: azure, creds: storageconfig.Credentials{AzureAccountKey: key}},
		{name: "azure_blob sas lacking write and delete", v: denied, cfg: azure, creds: sas("rl"),
			want: map[string][]string{"write": {"SAS permission w"}, "delete": {"SAS permission d"}},
			role: map[string]string{"write": "Storage Blob Data Contributor", "delete": "Storage Blob Data Contributor"}},
		{name: "azure_blob expired sas: no grant", v: denied, cfg: azure,
			creds: storageconfig.Credentials{AzureSASToken: testenv.AzureSAS(t, account, key, "datasets", "racwdl", time.Now().Add(-time.Hour))}},
		{name: "aws_s3 unreachable: no grant",
			v:     &verify.Verifier{Opener: &s3blob.Opener{AWSEndpoint: testenv.RefusedEndpoint(t)}, Deadline: time.Second},
			cfg:   &storageconfig.Config{Provider: storageconfig.ProviderAWSS3, S3BucketName: "acme-data", S3BucketRegion: "us-east-1"},
			creds: storageconfig.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}},
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
