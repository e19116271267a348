package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// corsOf decodes the additive "cors" outcome of an answer; nil when absent.
func corsOf(t *testing.T, r response) *corscheck.Report {
	t.Helper()
	var body struct {
		CORS *corscheck.Report `json:"cors"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return body.CORS
}

// TestCORSOriginsOnCreateAndTest: cors_origins on create, PATCH and the
// wire, and the CORS check of create, test/ and a PATCH that runs the
// checks, from the config's origins
// (else the operator's): on MinIO, whose server-wide setting admits every
// origin, it passes; on Azurite, whose account has no CORS rules, the
// origin is refused, and the create still succeeds (a warning, with the
// fix), as the test/ stays verified.
func TestCORSOriginsOnCreateAndTest(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	const operator, own = "https://operator.example", "https://app.example.com"
	v := e.api.Verifier.(*verify.Verifier)
	v.CORS = &corscheck.Checker{Client: netguard.Policy{AllowPrivate: true}.HTTPClient()}
	v.AppOrigins = []string{operator}
	admin, member := e.keys["acme/admin"], e.keys["acme/member"]

	// Refused on create, on the field.
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := e.compatBody(bucket, ak, sk)
	body["cors_origins"] = []string{"https://app.example.com/connect"}
	wantFields(t, e.do("POST", base, admin, body), map[string]string{"cors_origins": "no user, path, query or fragment"})
	body["cors_origins"] = "https://app.example.com"
	wantFields(t, e.do("POST", base, admin, body), map[string]string{"cors_origins": "list of strings"})

	t.Run("MinIO", func(t *testing.T) {
		body["cors_origins"] = []string{"HTTPS://App.Example.com:443"}
		r := e.do("POST", base, admin, body)
		wantStatus(t, r, http.StatusCreated)
		c := r.json(t)
		if got, _ := json.Marshal(c["cors_origins"]); string(got) != `["`+own+`"]` {
			t.Errorf("cors_origins = %s, want the origin normalised", got)
		}
		rep := corsOf(t, r)
		if rep == nil || !rep.Passed() || len(rep.Origins) != 1 || rep.Origins[0].Origin != own {
			t.Fatalf("create's cors = %+v, want %s allowed", rep, own)
		}
		uid := c["uid"].(string)
		got := e.do("GET", base+uid+"/", e.keys["acme/viewer"], nil).json(t)
		if o, _ := got["cors_origins"].([]any); len(o) != 1 || o[0] != own {
			t.Errorf("stored cors_origins = %v", got["cors_origins"])
		}
	})

	t.Run("Azurite", func(t *testing.T) {
		a := testenv.SharedAzurite(t)
		container := testenv.ContainerName(t, "cors")
		a.CreateContainer(t, container)
		ab := azureBody(a, container)
		ab["cors_origins"] = []string{own}
		r := e.do("POST", base, admin, ab)
		wantStatus(t, r, http.StatusCreated)
		if c := r.json(t); c["is_verified"] != true {
			t.Fatalf("created: %s", r.Body)
		}
		rep := corsOf(t, r)
		if rep == nil || rep.Code != corscheck.CodeOriginNotAllowed || rep.Fix == nil || !strings.Contains(rep.Fix.Command, own) {
			t.Fatalf("create's cors = %+v, want %s refused with a fix that allows it", rep, own)
		}
		uid := r.json(t)["uid"].(string)
		tr := e.do("POST", base+uid+"/test/", member, nil)
		wantStatus(t, tr, http.StatusOK)
		if tr.json(t)["verified"] != true {
			t.Fatalf("test: %s", tr.Body)
		}
		if rep := corsOf(t, tr); rep == nil || rep.Code != corscheck.CodeOriginNotAllowed || rep.Origins[0].Origin != own {
			t.Fatalf("test's cors = %+v", rep)
		}

		// None: no check at all.
		p := e.do("PATCH", base+uid+"/", admin, map[string]any{"cors_origins": []string{}})
		wantStatus(t, p, http.StatusOK)
		if got, _ := json.Marshal(p.json(t)["cors_origins"]); string(got) != "[]" {
			t.Fatalf("after PATCH []: cors_origins %s", got)
		}
		if rep := corsOf(t, e.do("POST", base+uid+"/test/", member, nil)); rep != nil {
			t.Errorf("test with cors_origins []: cors = %+v, want none", rep)
		}
		// Null: the operator's.
		p = e.do("PATCH", base+uid+"/", admin, map[string]any{"cors_origins": nil})
		wantStatus(t, p, http.StatusOK)
		if got := p.json(t)["cors_origins"]; got != nil {
			t.Fatalf("after PATCH null: cors_origins %v", got)
		}
		if rep := corsOf(t, e.do("POST", base+uid+"/test/", member, nil)); rep == nil || rep.Origins[0].Origin != operator {
			t.Errorf("test with the operator's origins: cors = %+v", rep)
		}
		// A PATCH of provider fields runs the checks: its answer carries
		// the CORS outcome, from the origins it sets.
		p = e.do("PATCH", base+uid+"/", admin, map[string]any{"azure_prefix": "other/", "cors_origins": []string{own}})
		wantStatus(t, p, http.StatusOK)
		if rep := corsOf(t, p); rep == nil || rep.Code != corscheck.CodeOriginNotAllowed || rep.Origins[0].Origin != own {
			t.Errorf("PATCH of the prefix: cors = %+v, want %s refused", rep, own)
		}
		wantFields(t, e.do("PATCH", base+uid+"/", admin, map[string]any{"cors_origins": []string{"app.example.com"}}),
			map[string]string{"cors_origins": "scheme://host"})
	})
}
