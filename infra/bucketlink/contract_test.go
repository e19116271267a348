package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/contract"
	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
)

// contractPrefix is the prefix of every config and verification of the
// client-contract fixture; the objects sit under contractPrefix+"train/".
const contractPrefix = "data/"

// TestOfficialClients runs the official Python clients (PyPI avala and
// edgeimpulse-api, infra/contract) against `bucketlink serve`, every
// provider on its emulator: MinIO for aws_s3, s3_compatible and Google's
// HMAC (XML) API, fake-gcs-server for gc_storage service accounts, and
// Azurite for azure_blob with an account key and with a SAS token.
func TestOfficialClients(t *testing.T) {
	contract.Python(t) // skip (or fail with CI=true) before starting anything
	m := testenv.StartMinIO(t)
	g := testenv.StartFakeGCS(t)
	a := testenv.StartAzurite(t)
	for k, v := range map[string]string{
		"BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS": "true",
		"BUCKETLINK_AWS_S3_ENDPOINT":         m.Endpoint,
		"BUCKETLINK_GCS_ENDPOINT":            g.Endpoint,
		"BUCKETLINK_GCS_HMAC_ENDPOINT":       m.Endpoint,
		"BUCKETLINK_GCS_HMAC_REGION":         m.Region,
		"BUCKETLINK_AZURE_BLOB_ENDPOINT":     a.URL,
		"BUCKETLINK_VERIFY_WORKERS":          "2",
		// Limits no test but test_rate_limits.py's 429s meets (they use
		// the second serve below); the headers are still there.
		"BUCKETLINK_RATE_VERIFY": "100000/min,burst=10000",
		"BUCKETLINK_RATE_WRITE":  "100000/min,burst=10000",
		"BUCKETLINK_RATE_READ":   "100000/min,burst=10000",
	} {
		t.Setenv(k, v)
	}
	objects := map[string][]byte{"info.labels": []byte(`{"version":1,"files":[]}`), "sample-0001.json": []byte(`{"x":1}`)}

	// minioBucket makes a bucket with the objects and a user that may
	// read and write it; google users get an HMAC-shaped access id.
	minioBucket := func(prefix string, google bool) (bucket, ak, sk string) {
		bucket = testenv.BucketName(t, prefix)
		m.CreateBucket(t, bucket)
		for name, b := range objects {
			m.PutObject(t, bucket, contractPrefix+"train/"+name, b)
		}
		ak, sk = testenv.NewCredentials(t)
		ak = strings.ToUpper(ak)
		if google {
			ak = anyblobtest.HMACAccessID(t)
		}
		m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
		return bucket, ak, sk
	}
	gcsBucket := testenv.BucketName(t, "contract-gcs")
	g.CreateBucket(t, gcsBucket)
	containers := map[string]string{}
	for _, kind := range []string{"key", "sas", "verify"} {
		containers[kind] = testenv.ContainerName(t, "contract-"+kind)
		a.CreateContainer(t, containers[kind])
		for name, b := range objects {
			a.PutBlob(t, containers[kind], contractPrefix+"train/"+name, b)
		}
	}
	for name, b := range objects {
		g.PutObject(t, gcsBucket, contractPrefix+"train/"+name, b)
	}

	var f contract.Fixture
	data := filepath.Join(t.TempDir(), "data")
	f.Org, f.OtherOrg, f.Keys = provisionContract(t, data)
	// Every answer the clients read is checked against the OpenAPI document.
	f.BaseURL = startValidatedServe(t, data)

	s3Bucket, s3AK, s3SK := minioBucket("contract-s3", false)
	compatBucket, compatAK, compatSK := minioBucket("contract-compat", false)
	f.Configs = []contract.Entry{
		{Label: "aws_s3", Body: map[string]any{"name": "Contract aws_s3", "provider": "aws_s3",
			"s3_bucket_name": s3Bucket, "s3_bucket_region": m.Region, "s3_bucket_prefix": contractPrefix,
			"s3_access_key_id": s3AK, "s3_secret_access_key": s3SK}},
		{Label: "s3_compatible", Body: map[string]any{"name": "Contract s3_compatible", "provider": "s3_compatible",
			"s3_endpoint_url": m.Endpoint, "s3_bucket_name": compatBucket, "s3_bucket_prefix": contractPrefix,
			"s3_access_key_id": compatAK, "s3_secret_access_key": compatSK}},
		{Label: "gc_storage", Body: map[string]any{"name": "Contract gc_storage", "provider": "gc_storage",
			"gc_storage_bucket_name": gcsBucket, "gc_storage_prefix": contractPrefix,
			"gc_storage_auth_json_content": anyblobtest.ServiceAccountJSON(t, nil)}},
		{Label: "azure_blob_key", Body: map[string]any{"name": "Contract azure_blob key", "provider": "azure_blob",
			"azure_account_name": a.AccountName, "azure_container_name": containers["key"], "azure_prefix": contractPrefix,
			"azure_account_key": a.AccountKey}},
		{Label: "azure_blob_sas", Body: map[string]any{"name": "Contract azure_blob SAS", "provider": "azure_blob",
			"azure_account_name": a.AccountName, "azure_container_name": containers["sas"], "azure_prefix": contractPrefix,
			"azure_sas_token": a.SASToken(t, containers["sas"], "racwdl", time.Now().Add(24*time.Hour))}},
	}

	// Bucket names by storageProvider; none says "google", which Google
	// (and so bucketlink) refuses in a bucket name.
	verifyBuckets := map[string]string{"s3": "contract-vs3", "other": "contract-vother", "google": "contract-vhmac"}
	for _, provider := range []string{"s3", "other", "google"} {
		bucket, ak, sk := minioBucket(verifyBuckets[provider], provider == "google")
		body := map[string]any{"storageProvider": provider, "accessKey": ak, "secretKey": sk,
			"bucket": bucket, "prefix": contractPrefix}
		switch provider {
		case "other":
			body["endpoint"] = m.Endpoint
		case "s3":
			body["region"] = m.Region
		}
		f.Verify = append(f.Verify, contract.Entry{Label: provider, Body: body})
	}
	f.Verify = append(f.Verify, contract.Entry{Label: "azure", Body: map[string]any{"storageProvider": "azure",
		"accessKey": a.AccountName, "secretKey": a.AccountKey, "bucket": containers["verify"], "prefix": contractPrefix}})

	// A second serve, of its own data, whose bursts of 3 reads and 2
	// verifications an hour test_rate_limits.py counts out to the 429.
	t.Setenv("BUCKETLINK_RATE_READ", "1/h,burst=3")
	t.Setenv("BUCKETLINK_RATE_VERIFY", "1/h,burst=2")
	limitedData := filepath.Join(t.TempDir(), "limited")
	limitedOrg, _, limitedKeys := provisionContract(t, limitedData)
	limitedURL := startValidatedServe(t, limitedData)
	f.RateLimited = &contract.RateLimited{BaseURL: limitedURL, Org: limitedOrg, Key: limitedKeys.Admin, Verify: f.Verify[0]}

	contract.Run(t, f)
}

// provisionContract bootstraps the data directory as serve would (the org
// "default" and its admin key), then adds a second org "other", member and
// viewer keys of the first and an admin key of the second, each user a
// member of one org only.
func provisionContract(t *testing.T, data string) (org, other contract.Org, keys contract.Keys) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, filepath.Join(data, "bucketlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if keys.Admin, err = provision.Bootstrap(ctx, st, data); err != nil || keys.Admin == "" {
		t.Fatalf("bootstrap: key %t, %v", keys.Admin != "", err)
	}
	def, err := st.GetOrgBySlug(ctx, provision.DefaultOrgSlug)
	if err != nil {
		t.Fatal(err)
	}
	o, err := provision.CreateOrg(ctx, st, "other", "Other Org")
	if err != nil {
		t.Fatal(err)
	}
	key := func(slug string, role identity.Role, user string) string {
		k, _, err := provision.CreateAPIKey(ctx, st, slug, role, user)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keys.Member = key(def.Slug, identity.RoleMember, "contract-member")
	keys.Viewer = key(def.Slug, identity.RoleViewer, "contract-viewer")
	keys.OtherAdmin = key(o.Slug, identity.RoleAdmin, "contract-other-admin")
	return contract.Org{ID: def.ID, Slug: def.Slug}, contract.Org{ID: o.ID, Slug: o.Slug}, keys
}
