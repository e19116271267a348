package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/httpapi"
)

const sessionsPath = "/api/v1/connect-sessions/"

// mintSession mints a create session of acme with its admin key and
// returns the token.
func (e *env) mintSession(t *testing.T, body any) string {
	t.Helper()
	r := e.do("POST", sessionsPath, e.keys["acme/admin"], body)
	wantStatus(t, r, http.StatusCreated)
	got := r.json(t)
	token, _ := got["token"].(string)
	if err := connect.CheckFormat(token); err != nil {
		t.Fatalf("minted token %q: %v", token, err)
	}
	if got["connect_url"] != e.srv.URL+httpapi.ConnectPagePath+"#session="+token || got["organization"] != "acme" ||
		got["purpose"] != "create" || !strings.HasPrefix(got["id"].(string), "cs_") {
		t.Errorf("mint answer: %s", r.Body)
	}
	return token
}

func TestConnectSessionMint(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	before := time.Now().UTC()
	r := e.do("POST", sessionsPath, e.keys["acme/admin"], map[string]any{"purpose": "create"})
	wantStatus(t, r, http.StatusCreated)
	exp, err := time.Parse(time.RFC3339Nano, r.json(t)["expires_at"].(string))
	if err != nil || exp.Before(before.Add(connect.DefaultTTL-time.Minute)) || exp.After(time.Now().Add(connect.DefaultTTL)) {
		t.Errorf("expires_at %v (%v), want about %v from now", exp, err, connect.DefaultTTL)
	}
	r = e.do("POST", sessionsPath, e.keys["acme/admin"], map[string]any{"purpose": "create", "expires_in": 120})
	wantStatus(t, r, http.StatusCreated)
	if exp, _ := time.Parse(time.RFC3339Nano, r.json(t)["expires_at"].(string)); exp.After(time.Now().Add(2 * time.Minute)) {
		t.Errorf("expires_in 120: expires_at %v", exp)
	}
	for _, tt := range []struct {
		name   string
		key    string
		body   any
		status int
		fields map[string]string
	}{
		{name: "member", key: e.keys["acme/member"], body: map[string]any{"purpose": "create"}, status: http.StatusForbidden},
		{name: "viewer", key: e.keys["acme/viewer"], body: map[string]any{"purpose": "create"}, status: http.StatusForbidden},
		{name: "no key", body: map[string]any{"purpose": "create"}, status: http.StatusUnauthorized},
		{name: "no purpose", key: e.keys["acme/admin"], body: map[string]any{}, fields: map[string]string{"purpose": "required"}},
		{name: "rotate without a config", key: e.keys["acme/admin"], body: map[string]any{"purpose": "rotate"}, fields: map[string]string{"config_uid": "required"}},
		{name: "create with a config", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "config_uid": "00000000-0000-4000-8000-000000000000"}, fields: map[string]string{"config_uid": "Only used with purpose rotate"}},
		{name: "rotate an unknown config", key: e.keys["acme/admin"], body: map[string]any{"purpose": "rotate", "config_uid": "00000000-0000-4000-8000-000000000000"}, fields: map[string]string{"config_uid": "No storage config"}},
		{name: "unknown purpose", key: e.keys["acme/admin"], body: map[string]any{"purpose": "delete"}, fields: map[string]string{"purpose": "Unsupported"}},
		{name: "too short", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": 10}, fields: map[string]string{"expires_in": "60 to 3600"}},
		{name: "too long", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": 7200}, fields: map[string]string{"expires_in": "60 to 3600"}},
		// JSON Schema's integer: a number with no fraction, however JSON
		// spells it (schemathesis sent 636.0).
		{name: "whole number spelled as a float", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": json.RawMessage("636.0")}, status: http.StatusCreated},
		{name: "whole number with an exponent", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": json.RawMessage("6.36e2")}, status: http.StatusCreated},
		{name: "a fraction", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": json.RawMessage("60.5")}, fields: map[string]string{"expires_in": "whole number"}},
		{name: "a string", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "expires_in": "600"}, fields: map[string]string{"expires_in": "whole number"}},
		{name: "unknown field", key: e.keys["acme/admin"], body: map[string]any{"purpose": "create", "org": 1}, fields: map[string]string{"non_field_errors": "JSON object"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", sessionsPath, tt.key, tt.body)
			if tt.fields != nil {
				wantFields(t, r, tt.fields)
				return
			}
			wantStatus(t, r, tt.status)
		})
	}
	// A session cannot mint sessions.
	token := e.mintSession(t, map[string]any{"purpose": "create"})
	wantDetail(t, e.do("POST", sessionsPath, "s:"+token, map[string]any{"purpose": "create"}), http.StatusForbidden,
		"A connect session does not allow this request.")
}

func TestConnectSessionScope(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	uid := e.do("POST", "/api/v1/storage-configs/", e.keys["acme/admin"], e.compatBody(bucket, ak, sk)).json(t)["uid"].(string)
	token := e.mintSession(t, map[string]any{"purpose": "create"})
	s := "s:" + token

	r := e.do("GET", "/api/v1/storage-configs/setup-info/", s, nil)
	wantStatus(t, r, http.StatusOK)
	info := r.json(t)
	cs, _ := info["connect_session"].(map[string]any)
	if info["external_id"] != e.orgs["acme"].ExternalID || cs == nil || cs["organization_id"] != float64(e.orgs["acme"].ID) ||
		cs["organization"] != "acme" || cs["purpose"] != "create" {
		t.Errorf("setup-info with a session: %s", r.Body)
	}
	// The session is acme's: another org's setup-info is refused.
	wantStatus(t, e.do("GET", "/api/v1/storage-configs/setup-info/?organization=other", s, nil), http.StatusForbidden)

	const scope = "A connect session does not allow this request."
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/v1/storage-configs/"},
		{"GET", "/api/v1/storage-configs/" + uid + "/"},
		{"PATCH", "/api/v1/storage-configs/" + uid + "/"},
		{"DELETE", "/api/v1/storage-configs/" + uid + "/"},
		{"POST", "/api/v1/storage-configs/" + uid + "/test/"},
		{"GET", "/api/v1/storage-configs/" + uid + "/verifications/"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantDetail(t, e.do(tt.method, tt.path, s, map[string]any{"name": "x"}), http.StatusForbidden, scope)
		})
	}
	// The bucket-verify routes: another org's id, and the existing-bucket
	// verify, in that API's shape.
	for _, path := range []string{
		"/v1/api/organizations/" + itoa(e.orgs["other"].ID) + "/buckets/verify",
		"/v1/api/organizations/" + itoa(e.orgs["acme"].ID) + "/buckets/1/verify",
	} {
		r := e.do("POST", path, s, map[string]any{"bucket": bucket, "accessKey": ak, "secretKey": sk})
		wantStatus(t, r, http.StatusForbidden)
		if got := r.json(t); got["success"] != false || got["error"] == "" {
			t.Errorf("%s: %s", path, r.Body)
		}
	}
	// Nothing was deleted or renamed.
	wantStatus(t, e.do("GET", "/api/v1/storage-configs/"+uid+"/", e.keys["acme/admin"], nil), http.StatusOK)
}

func TestConnectSessionCreateOnce(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	token := e.mintSession(t, map[string]any{"purpose": "create"})
	s := "s:" + token

	// A create whose checks fail stores nothing and leaves the session usable.
	bad := e.compatBody(bucket, ak, "wrong-secret-key-0123456789")
	r := e.do("POST", "/api/v1/storage-configs/", s, bad)
	wantStatus(t, r, http.StatusBadRequest)
	wantStatus(t, e.do("GET", "/api/v1/storage-configs/setup-info/", s, nil), http.StatusOK)

	r = e.do("POST", "/api/v1/storage-configs/", s, e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	uid := r.json(t)["uid"].(string)
	got := e.do("GET", "/api/v1/storage-configs/"+uid+"/", e.keys["acme/admin"], nil)
	wantStatus(t, got, http.StatusOK)

	const used = "This connect session has already been used."
	wantDetail(t, e.do("POST", "/api/v1/storage-configs/", s, e.compatBody(bucket, ak, sk)), http.StatusForbidden, used)
	wantDetail(t, e.do("GET", "/api/v1/storage-configs/setup-info/", s, nil), http.StatusForbidden, used)
	r = e.do("POST", "/v1/api/organizations/"+itoa(e.orgs["acme"].ID)+"/buckets/verify", s, map[string]any{"bucket": bucket})
	wantStatus(t, r, http.StatusForbidden)
	if r.json(t)["error"] != used {
		t.Errorf("verify with a used session: %s", r.Body)
	}
	page := e.do("GET", "/api/v1/storage-configs/", e.keys["acme/admin"], nil).json(t)["results"].([]any)
	if len(page) != 1 {
		t.Errorf("acme has %d configs, want the one the session created", len(page))
	}
}

func TestConnectSessionExpiredAndUnknown(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	var skew atomic.Int64
	e.api.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	token := e.mintSession(t, map[string]any{"purpose": "create", "expires_in": 60})
	wantStatus(t, e.do("GET", "/api/v1/storage-configs/setup-info/", "s:"+token, nil), http.StatusOK)
	skew.Store(int64(61 * time.Second))
	wantDetail(t, e.do("GET", "/api/v1/storage-configs/setup-info/", "s:"+token, nil), http.StatusUnauthorized,
		"This connect session has expired; ask for a new one.")
	bucket, ak, sk := e.bucketUser(rwActions...)
	wantDetail(t, e.do("POST", "/api/v1/storage-configs/", "s:"+token, e.compatBody(bucket, ak, sk)), http.StatusUnauthorized,
		"This connect session has expired; ask for a new one.")

	unknown, _, _ := connect.New()
	for _, tok := range []string{unknown, "bcs_short", e.keys["acme/admin"]} {
		wantDetail(t, e.do("GET", "/api/v1/storage-configs/setup-info/", "s:"+tok, nil), http.StatusUnauthorized, "Invalid connect session.")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
