package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// createConfig creates an s3_compatible config at MinIO with body edits
// applied (nil deletes a field) and returns its JSON.
func (e *env) createConfig(t *testing.T, edits map[string]any) map[string]any {
	t.Helper()
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := e.compatBody(bucket, ak, sk)
	for k, v := range edits {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	r := e.do("POST", base, e.keys["acme/admin"], body)
	wantStatus(t, r, http.StatusCreated)
	return r.json(t)
}

func TestCreateReverifyInterval(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	tests := []struct {
		name     string
		edits    map[string]any
		wantSecs any
	}{
		{"default", nil, float64(3600)},
		{"given", map[string]any{"reverify_interval_seconds": 900}, float64(900)},
		{"off", map[string]any{"reverify_interval_seconds": json.RawMessage("null")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.createConfig(t, tt.edits)
			if c["reverify_interval_seconds"] != tt.wantSecs {
				t.Errorf("reverify_interval_seconds = %v, want %v", c["reverify_interval_seconds"], tt.wantSecs)
			}
			next, _ := c["next_reverify_at"].(string)
			switch {
			case tt.wantSecs == nil && c["next_reverify_at"] != nil:
				t.Errorf("next_reverify_at = %v, want null when off", c["next_reverify_at"])
			case tt.wantSecs != nil:
				at, err1 := time.Parse(time.RFC3339, next)
				verified, err2 := time.Parse(time.RFC3339, c["last_verified_at"].(string))
				if err1 != nil || err2 != nil || at.Sub(verified) != time.Duration(tt.wantSecs.(float64))*time.Second {
					t.Errorf("next_reverify_at = %v, want last_verified_at %v + the interval", next, c["last_verified_at"])
				}
			}
		})
	}
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := e.compatBody(bucket, ak, sk)
	body["reverify_interval_seconds"] = 60
	wantFields(t, e.do("POST", base, e.keys["acme/admin"], body), map[string]string{"reverify_interval_seconds": "from 900"})
}

func TestPatch(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	c := e.createConfig(t, nil)
	uid := c["uid"].(string)
	path := base + uid + "/"
	admin := e.keys["acme/admin"]

	r := e.do("PATCH", path, admin, map[string]any{"name": "  Renamed  ", "reverify_interval_seconds": 7200})
	wantStatus(t, r, http.StatusOK)
	got := r.json(t)
	if got["name"] != "Renamed" || got["reverify_interval_seconds"] != float64(7200) || got["updated_at"] == c["updated_at"] && got["name"] == c["name"] {
		t.Errorf("patched config = %s", r.Body)
	}
	if g := e.do("GET", path, e.keys["acme/viewer"], nil).json(t); g["name"] != "Renamed" || g["reverify_interval_seconds"] != float64(7200) {
		t.Errorf("config after the patch = %v", g)
	}

	r = e.do("PATCH", path, admin, `{"reverify_interval_seconds": null}`)
	wantStatus(t, r, http.StatusOK)
	if g := r.json(t); g["reverify_interval_seconds"] != nil || g["next_reverify_at"] != nil {
		t.Errorf("switched off: interval %v next %v, want null", g["reverify_interval_seconds"], g["next_reverify_at"])
	}
	wantStatus(t, e.do("PATCH", path, admin, `{}`), http.StatusOK)

	denied := "You do not have permission to perform this action."
	for _, key := range []string{e.keys["acme/member"], e.keys["acme/viewer"], e.keys["other/admin"]} {
		wantDetail(t, e.do("PATCH", path, key, map[string]any{"name": "x"}), http.StatusForbidden, denied)
	}
	wantDetail(t, e.do("PATCH", path, "", map[string]any{"name": "x"}), http.StatusUnauthorized, "Invalid API key.")
	wantDetail(t, e.do("PATCH", base+"00000000-0000-4000-8000-000000000000/", admin, map[string]any{"name": "x"}),
		http.StatusNotFound, "Not found.")
	wantFields(t, e.do("PATCH", path, admin, map[string]any{
		"provider": "aws_s3", "s3_bucket_name": "Other", "s3_secret_access_key": "nope", "colour": "blue", "reverify_interval_seconds": 10,
	}), map[string]string{
		"provider": "cannot be changed", "s3_bucket_name": "lower-case", "s3_access_key_id": "required",
		"colour": "Unknown field", "reverify_interval_seconds": "from 900",
	})
	wantFields(t, e.do("PATCH", path, admin, `[1]`), map[string]string{"non_field_errors": "JSON object"})
	if g := e.do("GET", path, admin, nil).json(t); g["name"] != "Renamed" {
		t.Errorf("a refused patch changed the config: %v", g)
	}
	r = e.do("PUT", path, admin, nil)
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if allow := r.Header.Get("Allow"); allow != "DELETE, GET, PATCH" {
		t.Errorf("Allow = %q", allow)
	}
}

// history is a decoded page of the verifications endpoint.
type history struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []struct {
		VerifiedAt string `json:"verified_at"`
		Verified   bool   `json:"verified"`
		Trigger    string `json:"trigger"`
		Checks     []struct {
			Name, Code string
			OK         bool `json:"ok"`
		} `json:"checks"`
	} `json:"results"`
}

func (e *env) history(t *testing.T, url, key string) history {
	t.Helper()
	r := e.do("GET", url, key, nil)
	wantStatus(t, r, http.StatusOK)
	var h history
	if err := json.Unmarshal(r.Body, &h); err != nil {
		t.Fatalf("history: %v: %s", err, r.Body)
	}
	return h
}

func triggers(h history) []string {
	var out []string
	for _, v := range h.Results {
		out = append(out, v.Trigger)
	}
	return out
}

func TestVerificationHistory(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	r := e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk))
	wantStatus(t, r, http.StatusCreated)
	c := r.json(t)
	uid := c["uid"].(string)
	path := base + uid + "/verifications/"
	viewer := e.keys["acme/viewer"]

	h := e.history(t, path, viewer)
	if len(h.Results) != 1 || h.Results[0].Trigger != "create" || !h.Results[0].Verified || len(h.Results[0].Checks) != 4 ||
		h.Results[0].VerifiedAt != c["last_verified_at"] || h.Next != nil || h.Previous != nil {
		t.Fatalf("history after create = %+v", h)
	}
	for range 4 {
		wantStatus(t, e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil), http.StatusOK)
	}
	h = e.history(t, path, viewer)
	if got := triggers(h); len(got) != 5 || got[0] != "test" || got[4] != "create" {
		t.Fatalf("history after four tests: %v", got)
	}

	// Page through with limit 2: 2 + 2 + 1, then back.
	first := e.history(t, path+"?limit=2", viewer)
	if len(first.Results) != 2 || first.Next == nil || first.Previous != nil {
		t.Fatalf("first page: %d entries next %v previous %v", len(first.Results), first.Next, first.Previous)
	}
	second := e.history(t, *first.Next, viewer)
	third := e.history(t, *second.Next, viewer)
	if len(second.Results) != 2 || len(third.Results) != 1 || third.Results[0].Trigger != "create" || third.Next != nil || third.Previous == nil {
		t.Fatalf("pages: %d then %d entries; last page %+v", len(second.Results), len(third.Results), third)
	}
	back := e.history(t, *third.Previous, viewer)
	if len(back.Results) != 2 || back.Results[0].VerifiedAt != second.Results[0].VerifiedAt || back.Previous == nil || back.Next == nil {
		t.Fatalf("back from the last page: %+v, want the second page", back)
	}
	top := e.history(t, *back.Previous, viewer)
	if len(top.Results) != 2 || top.Previous != nil || top.Next == nil {
		t.Fatalf("back to the top: %+v", top)
	}

	// A cursor of this config's history is not valid for another config's.
	other := e.createConfig(t, nil)["uid"].(string)
	u, _ := url.Parse(*first.Next)
	wantFields(t, e.do("GET", base+other+"/verifications/?"+u.RawQuery, viewer, nil), map[string]string{"cursor": "Invalid cursor"})
	wantFields(t, e.do("GET", path+"?limit=0", viewer, nil), map[string]string{"limit": "whole number"})
	wantDetail(t, e.do("GET", path, e.keys["other/admin"], nil), http.StatusForbidden,
		"You do not have permission to perform this action.")
	wantStatus(t, e.do("POST", path, e.keys["acme/admin"], nil), http.StatusMethodNotAllowed)

	// A failed test is recorded as failed, and the history goes with the config.
	e.minio.DetachUserPolicy(t, ak)
	wantStatus(t, e.do("POST", base+uid+"/test/", e.keys["acme/member"], nil), http.StatusOK)
	h = e.history(t, path+"?limit=1", viewer)
	if len(h.Results) != 1 || h.Results[0].Verified || h.Results[0].Trigger != "test" || h.Results[0].Checks[0].OK {
		t.Errorf("history after a failed test: %+v", h.Results)
	}
	wantStatus(t, e.do("DELETE", base+uid+"/", e.keys["acme/admin"], nil), http.StatusNoContent)
	wantDetail(t, e.do("GET", path, viewer, nil), http.StatusNotFound, "Not found.")
}
