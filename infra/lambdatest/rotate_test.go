package lambdatest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// TestPatchFunctionRotates runs the patch function's bootstrap on a
// rotation: the checks run with the new MinIO user, the new credentials are
// sealed with the stack's KMS key (the old envelope replaced), and a
// failing rotation answers 400 on the credential field and leaves the old
// envelope in place.
func TestPatchFunctionRotates(t *testing.T) {
	s := newStack(t)
	create := s.start(t, "create-storage-config", s.env("create-storage-config"))
	patch := s.start(t, "patch-storage-config", s.env("patch-storage-config"))
	org, key := s.newOrg(t, "rotating")
	b := s.newBucket(t)
	resp := invokeHTTP(t, create, s.event(t, "create-storage-config", edit{apiKey: key, bucket: b}))
	wantStatus(t, "create", resp, http.StatusCreated)
	uid := decode[configBody](t, resp).UID

	rotated := bucket{name: b.name}
	rotated.accessKeyID, rotated.secretAccessKey = testenv.NewCredentials(t)
	rotated.accessKeyID = strings.ToUpper(rotated.accessKeyID)
	s.remember(rotated.secretAccessKey)
	s.minio.AddUser(t, rotated.accessKeyID, rotated.secretAccessKey, testenv.PolicyFor(b.name))
	body := func(ak, sk string) string {
		out, _ := json.Marshal(map[string]any{"s3_access_key_id": ak, "s3_secret_access_key": sk})
		return string(out)
	}

	// The new user may only list: 400 on the key, the old envelope stays.
	resp = invokeHTTP(t, patch, s.event(t, "patch-storage-config", edit{apiKey: key, uid: uid, body: body(rotated.accessKeyID, rotated.secretAccessKey)}))
	wantStatus(t, "rotation to a user without object permissions", resp, http.StatusBadRequest)
	if errs := decode[map[string][]string](t, resp); len(errs["s3_access_key_id"]) == 0 {
		t.Errorf("failed rotation: body %s, want errors on s3_access_key_id", resp.Body)
	}
	s.checkSealedWithKMS(t, org.ID, uid, b)

	s.minio.SetUserPolicy(t, rotated.accessKeyID, testenv.ReadWritePolicy(b.name))
	resp = invokeHTTP(t, patch, s.event(t, "patch-storage-config", edit{apiKey: key, uid: uid, body: body(rotated.accessKeyID, rotated.secretAccessKey)}))
	wantStatus(t, "rotation", resp, http.StatusOK)
	if got := decode[configBody](t, resp); !got.IsVerified || got.UID != uid {
		t.Errorf("rotation: body %s", resp.Body)
	}
	s.checkSealedWithKMS(t, org.ID, uid, rotated)
}
