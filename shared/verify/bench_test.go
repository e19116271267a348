package verify_test

import (
	"net/http"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// BenchmarkVerify measures one full verification (list, read, write,
// delete, through the anyblob dispatcher) per provider against its local
// server on loopback: MinIO for aws_s3, s3_compatible and gc_storage with
// HMAC keys, fake-gcs-server for gc_storage with a service-account key,
// Azurite for azure_blob. Run: make bench, or
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./shared/verify/
func BenchmarkVerify(b *testing.B) {
	type target struct {
		opener *anyblob.Opener
		cfg    *storageconfig.Config
		creds  storageconfig.Credentials
	}
	targets := []struct {
		name  string
		setup func(b *testing.B) target
	}{
		{"s3_compatible", func(b *testing.B) target {
			f := getFixture(b)
			return target{opener: &anyblob.Opener{HTTPClient: &http.Client{}}, cfg: f.compatible(f.bucket),
				creds: f.user(b, "good", testenv.ReadWritePolicy(f.bucket))}
		}},
		{"aws_s3", func(b *testing.B) target {
			f := getFixture(b)
			return target{opener: &anyblob.Opener{HTTPClient: &http.Client{}, S3: &s3open.Opener{AWSEndpoint: f.m.Endpoint}},
				cfg: f.aws(f.bucket, f.m.Region), creds: f.user(b, "good", testenv.ReadWritePolicy(f.bucket))}
		}},
		{"gc_storage", func(b *testing.B) target {
			g := testenv.SharedFakeGCS(b)
			bucket := testenv.BucketName(b, "bench")
			g.CreateBucket(b, bucket)
			g.PutObject(b, bucket, prefix+"a.json", []byte(`{}`))
			return target{opener: &anyblob.Opener{HTTPClient: &http.Client{}, GCSEndpoint: g.Endpoint},
				cfg:   &storageconfig.Config{Provider: gcs.Name, Settings: &gcs.Settings{BucketName: bucket, KeyPrefix: prefix, Auth: gcs.AuthServiceAccount}},
				creds: storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(b, nil)}}
		}},
		{"gc_storage_hmac", func(b *testing.B) target {
			f := getFixture(b)
			id, secret := anyblobtest.HMACAccessID(b), providerSecret(b)
			f.m.AddUser(b, id, secret, testenv.ReadWritePolicy(f.bucket))
			return target{opener: &anyblob.Opener{HTTPClient: &http.Client{}, GCSHMACEndpoint: f.m.Endpoint, GCSHMACRegion: f.m.Region},
				cfg:   &storageconfig.Config{Provider: gcs.Name, Settings: &gcs.Settings{BucketName: f.bucket, KeyPrefix: prefix, Auth: gcs.AuthHMAC}},
				creds: storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}}
		}},
		{"azure_blob", func(b *testing.B) target {
			a := testenv.SharedAzurite(b)
			container := testenv.ContainerName(b, "bench")
			a.CreateContainer(b, container)
			a.PutBlob(b, container, prefix+"a.json", []byte(`{}`))
			return target{opener: &anyblob.Opener{HTTPClient: &http.Client{}},
				cfg:   &storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: a.AccountName, Container: container, KeyPrefix: prefix, Endpoint: azureblob.Endpoint(a.AccountName, a.Endpoint())}},
				creds: storageconfig.Credentials{"azure_account_key": a.AccountKey}}
		}},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			t := tg.setup(b)
			v := &verify.Verifier{Opener: t.opener}
			b.ReportAllocs()
			for b.Loop() {
				if res := v.Verify(b.Context(), t.cfg, t.creds); !res.Verified() {
					b.Fatalf("Verify: %+v %v", res.Checks, res.Errors)
				}
			}
		})
	}
}
