package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/errcode"
	azurep "github.com/bucketlink/bucketlink/shared/provider/azure"
	gcsp "github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// providerCase is one verification of a gc_storage or azure_blob config
// against its real server (or a test server standing in for it).
type providerCase struct {
	name     string
	opener   *anyblob.Opener
	cfg      *storageconfig.Config
	creds    storageconfig.Credentials
	checks   []wantCheck
	errors   errcode.FieldErrors // exact, except messages ending in "…" which are prefixes
	sample   []string
	verified bool
	// maxTime, when set, bounds how long Verify may take.
	maxTime time.Duration
}

func (tt providerCase) run(t *testing.T) {
	t.Helper()
	v := &verify.Verifier{Opener: tt.opener, Deadline: 3 * time.Second}
	start := time.Now()
	res := v.Verify(t.Context(), tt.cfg, tt.creds)
	if tt.maxTime > 0 && time.Since(start) > tt.maxTime {
		t.Errorf("Verify took %s, want at most %s", time.Since(start), tt.maxTime)
	}
	assertChecks(t, res, tt.checks)
	assertErrors(t, res, tt.errors)
	assertNoSecret(t, res, tt.creds)
	if res.Verified() != tt.verified {
		t.Errorf("Verified() = %v, want %v", res.Verified(), tt.verified)
	}
	var keys []string
	for _, o := range res.Sample {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != strings.Join(tt.sample, ",") {
		t.Errorf("Sample = %v, want %v", keys, tt.sample)
	}
}

// notRunCheck is the check of a verification that did not connect.
var notRunCheck = wantCheck{false, "skipped"}

func TestVerifyGCS(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	bucket := testenv.BucketName(t, "gcs")
	g.CreateBucket(t, bucket)
	for _, k := range append([]string{"other/outside.json"}, seeded...) {
		g.PutObject(t, bucket, k, []byte(`{"key":"`+k+`"}`))
	}
	key := storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(t, nil)}
	emulator := &anyblob.Opener{HTTPClient: &http.Client{}, GCSEndpoint: g.Endpoint}
	cfg := func(bucket string) *storageconfig.Config {
		return &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: bucket, KeyPrefix: prefix, Auth: gcsp.AuthServiceAccount}}
	}
	tests := []providerCase{
		{name: "all good", opener: emulator, cfg: cfg(bucket), creds: key, checks: allOK, sample: seeded, verified: true},
		{name: "missing bucket", opener: emulator, cfg: cfg(testenv.BucketName(t, "missing")), creds: key,
			checks: bothLanes("bucket_not_found"),
			errors: errcode.FieldErrors{"gc_storage_bucket_name": {"Bucket not found or access denied."}}},
		{name: "hanging endpoint", opener: &anyblob.Opener{HTTPClient: &http.Client{}, GCSEndpoint: testenv.HangingServer(t)},
			cfg: cfg(bucket), creds: key, checks: bothLanes("endpoint_unreachable"), maxTime: 4 * time.Second,
			errors: errcode.FieldErrors{"non_field_errors": {"The storage endpoint could not be reached or did not answer within 3s."}}},
		{name: "missing key", opener: emulator, cfg: cfg(bucket), checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"gc_storage_auth_json_content": {"A service account JSON key is required."}}},
		{name: "unusable key", opener: emulator, cfg: cfg(bucket),
			creds:  storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(t, func(f map[string]any) { delete(f, "private_key") })},
			checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"gc_storage_auth_json_content": {"Google did not accept the service account key: the service account or this key of it may have been deleted or disabled."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// TestVerifyGCSHMAC runs gc_storage configs with HMAC keys through the S3
// driver, against MinIO standing in for Google's XML API.
func TestVerifyGCSHMAC(t *testing.T) {
	f := getFixture(t)
	b := f.bucket
	hmacUser := func(t *testing.T, policy string) storageconfig.Credentials {
		id, secret := anyblobtest.HMACAccessID(t), providerSecret(t)
		f.m.AddUser(t, id, secret, policy)
		return storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
	}
	good := hmacUser(t, testenv.ReadWritePolicy(b))
	listOnly := hmacUser(t, testenv.PolicyFor(b))
	o := &anyblob.Opener{HTTPClient: &http.Client{}, GCSHMACEndpoint: f.m.Endpoint, GCSHMACRegion: f.m.Region}
	cfg := &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: b, KeyPrefix: prefix, Auth: gcsp.AuthHMAC}}
	objRes := "gs://" + b + "/" + prefix + "*"
	tests := []providerCase{
		{name: "all good", opener: o, cfg: cfg, creds: good, checks: allOK, sample: seeded, verified: true},
		{name: "wrong secret", opener: o, cfg: cfg, creds: storageconfig.Credentials{"access_key_id": good["access_key_id"], "secret_access_key": providerSecret(t)},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"gc_storage_hmac_secret": {"The HMAC secret does not match the HMAC access ID."}}},
		{name: "unknown access id", opener: o, cfg: cfg,
			creds:  storageconfig.Credentials{"access_key_id": anyblobtest.HMACAccessID(t), "secret_access_key": good["secret_access_key"]},
			checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"gc_storage_hmac_access_id": {"The HMAC access ID was not recognised by Google Cloud Storage; check that the key exists and is active."}}},
		{name: "list only", opener: o, cfg: cfg, creds: listOnly,
			checks: []wantCheck{{true, "ok"}, {false, accessDenied}, {false, accessDenied}, {false, "skipped"}},
			errors: errcode.FieldErrors{"gc_storage_hmac_access_id": {
				"The service account of this HMAC key can list the bucket but is not allowed storage.objects.get on " + objRes +
					". Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser).",
				"The service account of this HMAC key can list the bucket but is not allowed storage.objects.create on " + objRes +
					". Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser).",
			}},
			sample: seeded},
		{name: "missing secret", opener: o, cfg: cfg, creds: storageconfig.Credentials{"access_key_id": good["access_key_id"]},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"gc_storage_hmac_secret": {"An HMAC secret is required."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func providerSecret(tb testing.TB) string {
	_, s := testenv.NewCredentials(tb)
	return s
}

func TestVerifyAzure(t *testing.T) {
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "verify")
	a.CreateContainer(t, container)
	for _, k := range append([]string{"other/outside.json"}, seeded...) {
		a.PutBlob(t, container, k, []byte(`{"key":"`+k+`"}`))
	}
	o := &anyblob.Opener{HTTPClient: &http.Client{}}
	cfg := func(container, endpoint string) *storageconfig.Config {
		return &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: a.AccountName, Container: container, KeyPrefix: prefix, Endpoint: azureblob.Endpoint(a.AccountName, endpoint)}}
	}
	azurite := cfg(container, a.Endpoint())
	key := storageconfig.Credentials{"azure_account_key": a.AccountKey}
	sas := func(perms string, expiry time.Time) storageconfig.Credentials {
		return storageconfig.Credentials{"azure_sas_token": a.SASToken(t, container, perms, expiry)}
	}
	_, wrongKey := testenv.NewAzureAccount(t)
	unknownAccount, unknownKey := testenv.NewAzureAccount(t)
	refused := testenv.RefusedEndpoint(t) + "/" + a.AccountName
	// No connection is made for these: the config points at a refused
	// port, which would otherwise answer endpoint_unreachable.
	offline := cfg(container, refused)
	const remedy = " Create a SAS token for the container with the permissions r, w (or c), d and l."
	tests := []providerCase{
		{name: "account key", opener: o, cfg: azurite, creds: key, checks: allOK, sample: seeded, verified: true},
		{name: "sas token", opener: o, cfg: azurite, creds: sas("racwdl", time.Now().Add(time.Hour)), checks: allOK, sample: seeded, verified: true},
		{name: "sas token with create, not write", opener: o, cfg: azurite, creds: sas("rcdl", time.Now().Add(time.Hour)),
			checks: allOK, sample: seeded, verified: true},
		{name: "wrong account key", opener: o, cfg: azurite, creds: storageconfig.Credentials{"azure_account_key": wrongKey},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"azure_account_key": {"The account key was rejected by Azure."}}},
		{name: "sas signed with a wrong key", opener: o, cfg: azurite,
			creds:  storageconfig.Credentials{"azure_sas_token": testenv.AzureSAS(t, a.AccountName, wrongKey, container, "racwdl", time.Now().Add(time.Hour))},
			checks: bothLanes("signature_mismatch"),
			errors: errcode.FieldErrors{"azure_sas_token": {"The SAS token was rejected by Azure: its signature does not match the account's keys, or it was revoked. Create a new SAS token."}}},
		{name: "missing container", opener: o, cfg: cfg(testenv.ContainerName(t, "missing"), a.Endpoint()), creds: key,
			checks: bothLanes("bucket_not_found"),
			errors: errcode.FieldErrors{"azure_container_name": {"Container not found or access denied."}}},
		{name: "unknown account", opener: o,
			cfg:   &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: unknownAccount, Container: container, Endpoint: azureblob.Endpoint(unknownAccount, a.URL+"/"+unknownAccount)}},
			creds: storageconfig.Credentials{"azure_account_key": unknownKey}, checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"azure_account_name": {"Azure has no storage account with this name; check azure_account_name (and azure_endpoint_url for another cloud)."}}},
		{name: "sas lacking write, before connecting", opener: o, cfg: offline, creds: sas("rdl", time.Now().Add(time.Hour)),
			checks:  []wantCheck{notRunCheck, notRunCheck, {false, accessDenied}, notRunCheck},
			errors:  errcode.FieldErrors{"azure_sas_token": {"The SAS token lacks the write permission (w or c), which the write check needs." + remedy}},
			maxTime: time.Second},
		{name: "sas lacking list and delete, before connecting", opener: o, cfg: offline, creds: sas("rw", time.Now().Add(time.Hour)),
			checks: []wantCheck{{false, accessDenied}, notRunCheck, notRunCheck, {false, accessDenied}},
			errors: errcode.FieldErrors{"azure_sas_token": {
				"The SAS token lacks the list permission (l), which the list check needs." + remedy,
				"The SAS token lacks the delete permission (d), which the delete check needs." + remedy,
			}}},
		{name: "expired sas, before connecting", opener: o, cfg: offline, creds: sas("racwdl", time.Now().Add(-time.Hour)),
			checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"azure_sas_token": {"The SAS token has expired (it expired at …"}}},
		{name: "hanging endpoint", opener: o, cfg: cfg(container, testenv.HangingServer(t)+"/"+a.AccountName), creds: key,
			checks: bothLanes("endpoint_unreachable"), maxTime: 4 * time.Second,
			errors: errcode.FieldErrors{"azure_endpoint_url": {"The storage endpoint could not be reached or did not answer within 3s."}}},
		{name: "missing credentials", opener: o, cfg: azurite, checks: bothLanes("invalid_access_key"),
			errors: errcode.FieldErrors{"azure_account_key": {"An account key (or a SAS token) is required."},
				"azure_sas_token": {"A SAS token (or an account key) is required."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// TestVerifyPermissionMessages covers the permission messages the local
// servers cannot produce (fake-gcs-server has no IAM; an Azure account key
// may do everything on Azurite) with a driver whose object calls are
// refused as the real providers refuse them.
func TestVerifyPermissionMessages(t *testing.T) {
	gcs := &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: "acme-data", KeyPrefix: prefix, Auth: gcsp.AuthServiceAccount}}
	azure := &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: "acmestorage", Container: "datasets", KeyPrefix: prefix, Endpoint: azureblob.Endpoint("acmestorage", "")}}
	tests := []struct {
		name  string
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		want  errcode.FieldErrors
	}{
		{name: "gc_storage service account", cfg: gcs, creds: storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(t, nil)},
			want: errcode.FieldErrors{"gc_storage_auth_json_content": {
				"The service account can list the bucket but is not allowed storage.objects.get on gs://acme-data/" + prefix +
					"*. Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser).",
				"The service account can list the bucket but is not allowed storage.objects.create on gs://acme-data/" + prefix +
					"*. Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser).",
			}}},
		{name: "azure_blob account key", cfg: azure, creds: storageconfig.Credentials{"azure_account_key": "a2V5"},
			want: errcode.FieldErrors{"azure_account_key": {
				"The account key can list the container but is not allowed to read blobs on datasets/" + prefix +
					"*. Check that the storage account allows shared key access and that its firewall admits bucketlink.",
				"The account key can list the container but is not allowed to write blobs on datasets/" + prefix +
					"*. Check that the storage account allows shared key access and that its firewall admits bucketlink.",
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &verify.Verifier{Opener: deniedOpener{}, Deadline: time.Second}
			res := v.Verify(t.Context(), tt.cfg, tt.creds)
			assertChecks(t, res, []wantCheck{{true, "ok"}, {false, accessDenied}, {false, accessDenied}, {false, "skipped"}})
			assertErrors(t, res, tt.want)
		})
	}
}

// deniedOpener opens buckets that list one object and refuse every object
// call with AccessDenied.
type deniedOpener struct{}

func (deniedOpener) Open(context.Context, *storageconfig.Config, storageconfig.Credentials) (blob.Bucket, error) {
	return deniedBucket{}, nil
}

type deniedBucket struct{}

var errDenied = &blob.Error{Code: blob.AccessDenied, Op: "test", Err: errors.New("403 Forbidden")}

func (deniedBucket) List(context.Context, string, int) ([]blob.Object, error) {
	return []blob.Object{{Key: prefix + "a.json", Size: 2}}, nil
}
func (deniedBucket) ReadRange(context.Context, string, int64) ([]byte, error) { return nil, errDenied }
func (deniedBucket) Put(context.Context, string, []byte) error                { return errDenied }
func (deniedBucket) Delete(context.Context, string) error                     { return errDenied }
func (deniedBucket) PresignPut(context.Context, string, time.Duration) (string, error) {
	return "", errDenied
}
