package httpapi_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
)

// mintRotateSession mints a rotate session of uid with acme's admin key and
// returns the token.
func (e *env) mintRotateSession(t *testing.T, uid string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"purpose": "rotate", "config_uid": uid}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", sessionsPath, e.keys["acme/admin"], body)
	wantStatus(t, r, http.StatusCreated)
	got := r.json(t)
	token, _ := got["token"].(string)
	if err := connect.CheckFormat(token); err != nil || got["purpose"] != "rotate" || got["config_uid"] != uid {
		t.Fatalf("mint answer: %s", r.Body)
	}
	return token
}

// TestConnectSessionRotate: a rotate session reads and rotates its one
// config, once; every other config, a create, and its config's other
// routes answer 403; a failing rotation leaves the session usable.
func TestConnectSessionRotate(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	uid := e.do("POST", base, admin, e.compatBody(bucket, ak, sk)).json(t)["uid"].(string)
	otherUID := e.createConfig(t, nil)["uid"].(string)
	foreign := e.do("POST", sessionsPath, e.keys["other/admin"], map[string]any{"purpose": "rotate", "config_uid": uid})
	wantFields(t, foreign, map[string]string{"config_uid": "No storage config of this organization"})

	token := e.mintRotateSession(t, uid, nil)
	s := "s:" + token
	r := e.do("GET", base+"setup-info/", s, nil)
	wantStatus(t, r, http.StatusOK)
	if cs, _ := r.json(t)["connect_session"].(map[string]any); cs == nil || cs["purpose"] != "rotate" || cs["config_uid"] != uid {
		t.Errorf("setup-info with a rotate session: %s", r.Body)
	}
	if got := e.do("GET", base+uid+"/", s, nil); got.Status != http.StatusOK || got.json(t)["uid"] != uid {
		t.Errorf("GET of its config with a rotate session: %d %s", got.Status, got.Body)
	}

	newAK, newSK := e.userOf(bucket, rwActions...)
	rotate := map[string]any{"s3_access_key_id": newAK, "s3_secret_access_key": newSK}
	const scope = "A connect session does not allow this request."
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", base + otherUID + "/", rotate},
		{"GET", base + otherUID + "/", nil},
		{"POST", base, e.compatBody(bucket, newAK, newSK)},
		{"GET", base, nil},
		{"DELETE", base + uid + "/", nil},
		{"POST", base + uid + "/test/", nil},
		{"GET", base + uid + "/verifications/", nil},
		{"POST", sessionsPath, map[string]any{"purpose": "rotate", "config_uid": uid}},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantDetail(t, e.do(tt.method, tt.path, s, tt.body), http.StatusForbidden, scope)
		})
	}
	if e.storedKeyID(t, otherUID) == newAK {
		t.Fatal("the session rotated another config")
	}

	// A PATCH without credentials is not a rotation.
	wantFields(t, e.do("PATCH", base+uid+"/", s, map[string]any{"name": "x"}), map[string]string{"non_field_errors": "must carry new credentials"})
	// A failing rotation: 400 as create's, the session stays usable.
	_, wrong := e.userOf(bucket)
	wantFields(t, e.do("PATCH", base+uid+"/", s, map[string]any{"s3_access_key_id": newAK, "s3_secret_access_key": wrong}),
		map[string]string{"s3_secret_access_key": "does not match"})
	if e.storedKeyID(t, uid) != ak {
		t.Fatal("a failed rotation changed the credentials")
	}

	r = e.do("PATCH", base+uid+"/", s, rotate)
	wantStatus(t, r, http.StatusOK)
	if e.storedKeyID(t, uid) != newAK {
		t.Fatal("the session's rotation did not replace the credentials")
	}
	if tr := triggers(e.history(t, base+uid+"/verifications/", admin)); tr[0] != "rotate" {
		t.Errorf("history: %v", tr)
	}
	const used = "This connect session has already been used."
	wantDetail(t, e.do("PATCH", base+uid+"/", s, rotate), http.StatusForbidden, used)
	wantDetail(t, e.do("GET", base+uid+"/", s, nil), http.StatusForbidden, used)

	// A create session may not PATCH, even the config it would create.
	create := e.mintSession(t, map[string]any{"purpose": "create"})
	wantDetail(t, e.do("PATCH", base+uid+"/", "s:"+create, rotate), http.StatusForbidden, scope)
}

// TestConnectSessionRotateExpired: an expired rotate session answers 401,
// and one that expires between the checks and the write writes nothing.
func TestConnectSessionRotateExpired(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	var skew atomic.Int64
	e.api.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	d := &duringVerify{Verifier: e.api.Verifier}
	e.api.Verifier = d
	bucket, ak, sk := e.bucketUser(rwActions...)
	uid := e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk)).json(t)["uid"].(string)
	newAK, newSK := e.userOf(bucket, rwActions...)
	rotate := map[string]any{"s3_access_key_id": newAK, "s3_secret_access_key": newSK}
	const expired = "This connect session has expired; ask for a new one."

	token := e.mintRotateSession(t, uid, map[string]any{"expires_in": 60})
	d.arm(func() { skew.Store(int64(61 * time.Second)) })
	wantDetail(t, e.do("PATCH", base+uid+"/", "s:"+token, rotate), http.StatusUnauthorized, expired)
	if e.storedKeyID(t, uid) != ak {
		t.Fatal("a rotation on a session that expired meanwhile was stored")
	}
	wantDetail(t, e.do("PATCH", base+uid+"/", "s:"+token, rotate), http.StatusUnauthorized, expired)
}
