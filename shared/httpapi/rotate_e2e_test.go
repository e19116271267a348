package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// userOf adds a MinIO user whose policy grants the object actions on
// bucket (ListBucket always), remembered for the leak check.
func (e *env) userOf(bucket string, objectActions ...string) (ak, sk string) {
	e.t.Helper()
	ak, sk = testenv.NewCredentials(e.t)
	ak = strings.ToUpper(ak)
	e.minio.AddUser(e.t, ak, sk, testenv.PolicyFor(bucket, objectActions...))
	rememberSecret(sk)
	return ak, sk
}

// storedKeyID opens the config's stored envelope and returns its S3
// access key id.
func (e *env) storedKeyID(t *testing.T, uid string) string {
	t.Helper()
	c, err := e.store.GetConfig(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := storageconfig.OpenCredentials(context.Background(), e.api.Sealer, c)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s3.Keys(creds)
	return id
}

// nextChange waits for the next published change, or fails.
func nextChange(t *testing.T, changes <-chan changeevents.Change) changeevents.Change {
	t.Helper()
	select {
	case ch := <-changes:
		return ch
	case <-time.After(2 * time.Second):
		t.Fatal("no change published")
	}
	return changeevents.Change{}
}

func noChange(t *testing.T, changes <-chan changeevents.Change) {
	t.Helper()
	select {
	case ch := <-changes:
		t.Errorf("unexpected change published: %+v", ch)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestRotateS3Keys rotates an s3_compatible config's keys from one MinIO
// user to another: failing rotations (a wrong secret, a user without
// object permissions) answer 400 on the credential field and leave the old
// user working; a good one replaces the stored credentials, records
// trigger rotate and publishes the flip of is_verified.
func TestRotateS3Keys(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	admin := e.keys["acme/admin"]
	bucket, oldAK, oldSK := e.bucketUser(rwActions...)
	r := e.do("POST", base, admin, e.compatBody(bucket, oldAK, oldSK))
	wantStatus(t, r, http.StatusCreated)
	created := r.json(t)
	uid := created["uid"].(string)
	path := base + uid + "/"
	changes, unsubscribe := e.events.Subscribe()
	defer unsubscribe()

	// A member may not rotate; nor may another org's admin.
	newAK, newSK := e.userOf(bucket, rwActions...)
	rotate := map[string]any{"s3_access_key_id": newAK, "s3_secret_access_key": newSK}
	for _, key := range []string{e.keys["acme/member"], e.keys["acme/viewer"], e.keys["other/admin"]} {
		wantDetail(t, e.do("PATCH", path, key, rotate), http.StatusForbidden, "You do not have permission to perform this action.")
	}

	// Failing rotations change nothing: the old user keeps working.
	_, wrongSK := testenv.NewCredentials(t)
	rememberSecret(wrongSK)
	noPermsAK, noPermsSK := e.userOf(bucket)
	for _, tt := range []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"wrong secret", map[string]any{"s3_access_key_id": newAK, "s3_secret_access_key": wrongSK},
			map[string]string{"s3_secret_access_key": "does not match"}},
		{"user without object permissions", map[string]any{"s3_access_key_id": noPermsAK, "s3_secret_access_key": noPermsSK},
			map[string]string{"s3_access_key_id": "not allowed"}},
		{"half a pair", map[string]any{"s3_secret_access_key": newSK}, map[string]string{"s3_access_key_id": "required"}},
		{"a bucket that is not there, with good keys", map[string]any{"s3_bucket_name": testenv.BucketName(t, "gone"),
			"s3_access_key_id": newAK, "s3_secret_access_key": newSK}, map[string]string{"s3_bucket_name": "not found"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, e.do("PATCH", path, admin, tt.body), tt.want)
			if id := e.storedKeyID(t, uid); id != oldAK {
				t.Fatalf("after a failed rotation the stored key is %s, want the old one", id)
			}
			if verified, errs, _ := testConfig(t, e, uid); !verified {
				t.Fatalf("the old credentials stopped working after a failed rotation: %v", errs)
			}
		})
	}
	if got := e.history(t, path+"verifications/", admin); len(got.Results) != 1+4 || triggers(got)[0] != "test" {
		t.Errorf("failed rotations recorded in the history: %v", triggers(got))
	}

	// The old user loses its permissions: is_verified goes false.
	e.minio.DetachUserPolicy(t, oldAK)
	if verified, _, _ := testConfig(t, e, uid); verified {
		t.Fatal("test passed after the old user lost its policy")
	}
	if ch := nextChange(t, changes); ch.Trigger != "test" || ch.New {
		t.Fatalf("change = %+v", ch)
	}

	// The rotation: the checks pass with the new user; one write.
	r = e.do("PATCH", path, admin, rotate)
	wantStatus(t, r, http.StatusOK)
	got := r.json(t)
	if got["is_verified"] != true || got["last_verified_at"] == created["last_verified_at"] || got["s3_bucket_name"] != bucket ||
		got["s3_endpoint_url"] != e.minio.Endpoint || got["name"] != created["name"] {
		t.Errorf("rotated config = %s", r.Body)
	}
	for _, s := range []string{newAK, newSK, oldAK, oldSK} {
		if strings.Contains(string(r.Body), s) {
			t.Fatalf("the answer carries a credential: %s", r.Body)
		}
	}
	if id := e.storedKeyID(t, uid); id != newAK {
		t.Fatalf("stored key = %s, want the new one", id)
	}
	if ch := nextChange(t, changes); ch.UID != uid || ch.Trigger != "rotate" || ch.Previous || !ch.New || ch.Organization != "acme" {
		t.Errorf("change = %+v", ch)
	}
	h := e.history(t, path+"verifications/", admin)
	if tr := triggers(h); tr[0] != "rotate" || !h.Results[0].Verified || len(h.Results[0].Checks) != 4 || h.Results[0].VerifiedAt != got["last_verified_at"] {
		t.Errorf("history after the rotation: %v %+v", tr, h.Results[0])
	}
	if verified, errs, _ := testConfig(t, e, uid); !verified {
		t.Fatalf("test with the rotated credentials: %v", errs)
	}
	noChange(t, changes)

	// A rotation to the same user again passes and flips nothing.
	wantStatus(t, e.do("PATCH", path, admin, rotate), http.StatusOK)
	noChange(t, changes)
}

// TestEditSettingsWithStoredCredentials moves a config to another prefix
// and bucket without new credentials: the checks run with the stored ones
// (trigger edit); a bucket they cannot reach answers 400 and changes
// nothing.
func TestEditSettingsWithStoredCredentials(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	uid := e.do("POST", base, admin, e.compatBody(bucket, ak, sk)).json(t)["uid"].(string)
	path := base + uid + "/"

	r := e.do("PATCH", path, admin, map[string]any{"s3_bucket_prefix": "/moved", "name": "Moved"})
	wantStatus(t, r, http.StatusOK)
	if got := r.json(t); got["s3_bucket_prefix"] != "moved/" || got["name"] != "Moved" || got["is_verified"] != true {
		t.Errorf("edited config = %s", r.Body)
	}
	if tr := triggers(e.history(t, path+"verifications/", admin)); tr[0] != "edit" {
		t.Errorf("history after the edit: %v", tr)
	}
	if e.storedKeyID(t, uid) != ak {
		t.Error("an edit without credentials changed the stored credentials")
	}

	// Another bucket the stored user may not use: 400, nothing changes.
	other := testenv.BucketName(t, "other")
	e.minio.CreateBucket(t, other)
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"s3_bucket_name": other, "name": "Not this"}),
		map[string]string{"s3_bucket_name": "not found or access denied"})
	if got := e.do("GET", path, admin, nil).json(t); got["s3_bucket_name"] != bucket || got["name"] != "Moved" || got["s3_bucket_prefix"] != "moved/" {
		t.Errorf("a refused edit changed the config: %v", got)
	}
	// Settings sent back as they are: nothing to check, no history entry.
	wantStatus(t, e.do("PATCH", path, admin, map[string]any{"s3_bucket_name": bucket, "s3_endpoint_url": e.minio.Endpoint}), http.StatusOK)
	if n := len(e.history(t, path+"verifications/", admin).Results); n != 2 {
		t.Errorf("%d history entries, want create and edit", n)
	}
}

// TestRotateAzureKeyToSAS switches an Azurite config from the account key
// to a SAS token; a SAS token that cannot write answers 400 on
// azure_sas_token, and the account key keeps working.
func TestRotateAzureKeyToSAS(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "rot")
	a.CreateContainer(t, container)
	r := e.do("POST", base, admin, azureBody(a, container))
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	path := base + uid + "/"

	noWrite := a.SASToken(t, container, "rdl", time.Now().Add(time.Hour))
	good := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	rememberSAS(noWrite)
	rememberSAS(good)
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"azure_sas_token": noWrite}),
		map[string]string{"azure_sas_token": "write permission"})
	if verified, errs, _ := testConfig(t, e, uid); !verified {
		t.Fatalf("the account key stopped working after a failed rotation: %v", errs)
	}
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"azure_account_name": "otheraccount", "azure_sas_token": good}),
		map[string]string{"azure_account_name": "cannot be changed"})

	r = e.do("PATCH", path, admin, map[string]any{"azure_sas_token": "?" + good})
	wantStatus(t, r, http.StatusOK)
	wantShape(t, r, map[string]any{"provider": "azure_blob", "azure_container_name": container, "is_verified": true})
	c, err := e.store.GetConfig(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := storageconfig.OpenCredentials(context.Background(), e.api.Sealer, c)
	if err != nil {
		t.Fatal(err)
	}
	if creds["azure_sas_token"] != good || creds["azure_account_key"] != "" {
		t.Errorf("stored credentials after the switch have parts %v", keysOf(creds))
	}
	if verified, errs, _ := testConfig(t, e, uid); !verified {
		t.Fatalf("test with the SAS token: %v", errs)
	}
	if tr := triggers(e.history(t, path+"verifications/", admin)); tr[1] != "rotate" {
		t.Errorf("history: %v", tr)
	}
}

// TestRotateGCSServiceAccountToHMAC switches a gc_storage config from a
// service-account key (fake-gcs-server) to an HMAC key on another bucket
// (the harness sends HMAC traffic to MinIO), in one PATCH.
func TestRotateGCSServiceAccountToHMAC(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	bucket := testenv.BucketName(t, "gcs")
	e.gcs.CreateBucket(t, bucket)
	r := e.do("POST", base, admin, gcsBody(bucket, serviceAccount(t)))
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	path := base + uid + "/"

	// A new service-account key: a rotation in the same method.
	wantStatus(t, e.do("PATCH", path, admin, map[string]any{"gc_storage_auth_json_content": serviceAccount(t)}), http.StatusOK)

	hmacBucket := testenv.BucketName(t, "hmac")
	e.minio.CreateBucket(t, hmacBucket)
	id := anyblobtest.HMACAccessID(t)
	_, secret := testenv.NewCredentials(t)
	rememberSecret(secret)
	e.minio.AddUser(t, id, secret, testenv.ReadWritePolicy(hmacBucket))
	switchBody := map[string]any{"gc_storage_auth_method": "hmac", "gc_storage_bucket_name": hmacBucket,
		"gc_storage_hmac_access_id": id, "gc_storage_hmac_secret": secret}
	// Without the method the key is refused as on create.
	wantFields(t, e.do("PATCH", path, admin, map[string]any{"gc_storage_hmac_access_id": id, "gc_storage_hmac_secret": secret}),
		map[string]string{"gc_storage_hmac_access_id": "hmac", "gc_storage_hmac_secret": "hmac", "gc_storage_auth_json_content": "required"})
	r = e.do("PATCH", path, admin, switchBody)
	wantStatus(t, r, http.StatusOK)
	wantShape(t, r, map[string]any{"gc_storage_auth_method": "hmac", "gc_storage_bucket_name": hmacBucket, "gc_storage_prefix": "data/"})
	if verified, errs, _ := testConfig(t, e, uid); !verified {
		t.Fatalf("test after the switch to HMAC: %v", errs)
	}
	if tr := triggers(e.history(t, path+"verifications/", admin)); strings.Join(tr, ",") != "test,rotate,rotate,create" {
		t.Errorf("history: %v", tr)
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// duringVerify runs its hook once, inside the first verification that
// starts after it is armed: a concurrent request at the worst moment,
// between a PATCH's read and its write.
type duringVerify struct {
	httpapi.Verifier
	mu   sync.Mutex
	hook func()
}

func (d *duringVerify) Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.Result {
	d.mu.Lock()
	hook := d.hook
	d.hook = nil
	d.mu.Unlock()
	if hook != nil {
		hook()
	}
	return d.Verifier.Verify(ctx, c, creds)
}

func (d *duringVerify) arm(hook func()) {
	d.mu.Lock()
	d.hook = hook
	d.mu.Unlock()
}

// TestConcurrentRotations: a rotation whose checks were overtaken by
// another rotation answers 409 and writes nothing (the other's credentials
// stay, whole); one overtaken by a test (which changes no credentials) is
// applied on the fresh read.
func TestConcurrentRotations(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	d := &duringVerify{Verifier: e.api.Verifier}
	e.api.Verifier = d
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	uid := e.do("POST", base, admin, e.compatBody(bucket, ak, sk)).json(t)["uid"].(string)
	path := base + uid + "/"
	firstAK, firstSK := e.userOf(bucket, rwActions...)
	secondAK, secondSK := e.userOf(bucket, rwActions...)

	var inner response
	d.arm(func() {
		inner = e.do("PATCH", path, admin, map[string]any{"s3_access_key_id": secondAK, "s3_secret_access_key": secondSK})
	})
	outer := e.do("PATCH", path, admin, map[string]any{"s3_access_key_id": firstAK, "s3_secret_access_key": firstSK})
	wantStatus(t, inner, http.StatusOK)
	wantDetail(t, outer, http.StatusConflict,
		"Another request changed this storage config's credentials or settings meanwhile; nothing was changed. Read the config again and retry.")
	if id := e.storedKeyID(t, uid); id != secondAK {
		t.Fatalf("stored key = %s, want the winner's", id)
	}
	if tr := triggers(e.history(t, path+"verifications/", admin)); strings.Join(tr, ",") != "rotate,create" {
		t.Errorf("history: %v, want only the winner's rotation", tr)
	}

	// A test between the read and the write: the rotation still lands.
	d.arm(func() { testConfig(t, e, uid) })
	wantStatus(t, e.do("PATCH", path, admin, map[string]any{"s3_access_key_id": firstAK, "s3_secret_access_key": firstSK}), http.StatusOK)
	if id := e.storedKeyID(t, uid); id != firstAK {
		t.Fatalf("stored key = %s after a rotation overtaken by a test, want the rotation's", id)
	}
}
