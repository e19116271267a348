package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

// jsonType names the JSON types of the spec's field table.
type jsonType string

const (
	tString       jsonType = "string"
	tStringOrNull jsonType = "string | null"
	tBoolean      jsonType = "boolean"
	tInteger      jsonType = "integer"
	tDatetime     jsonType = "string (datetime)"
	tDatetimeNull jsonType = "string (datetime) | null"
)

// specFieldTypes is the field table of the storage-configs spec
// (../shared/spec/storage-configs-api.txt, "Fields"), plus the additive
// integer id. The official avala SDK models s3_is_accelerated and
// is_verified as non-optional booleans: a null there breaks every call
// that returns the config, so the types hold for every provider.
var specFieldTypes = map[string]jsonType{
	"uid":                    tString,
	"id":                     tInteger,
	"name":                   tString,
	"provider":               tString,
	"s3_bucket_name":         tStringOrNull,
	"s3_bucket_region":       tStringOrNull,
	"s3_bucket_prefix":       tStringOrNull,
	"s3_is_accelerated":      tBoolean,
	"gc_storage_bucket_name": tStringOrNull,
	"gc_storage_prefix":      tStringOrNull,
	"is_verified":            tBoolean,
	"last_verified_at":       tDatetimeNull,
	"created_at":             tDatetime,
	"updated_at":             tDatetime,
}

// wantType reports how v (decoded with UseNumber) differs from t, or "".
func wantType(v any, t jsonType) string {
	isTime := func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	}
	ok := false
	switch t {
	case tString:
		_, ok = v.(string)
	case tStringOrNull:
		_, ok = v.(string)
		ok = ok || v == nil
	case tBoolean:
		_, ok = v.(bool)
	case tInteger:
		n, isNum := v.(json.Number)
		_, err := n.Int64()
		ok = isNum && err == nil
	case tDatetime:
		ok = isTime(v)
	case tDatetimeNull:
		ok = v == nil || isTime(v)
	}
	if ok {
		return ""
	}
	return "is " + strings.TrimSpace(jsonString(v)) + ", want " + string(t)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWireTypesEveryProvider creates a config of every provider and
// credential kind and checks each field of the spec's table, in the
// create, get and list answers, against the spec's type; and that ids are
// distinct integers.
func TestWireTypesEveryProvider(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	gcsBucket := testenv.BucketName(t, "wire")
	e.gcs.CreateBucket(t, gcsBucket)
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "wire")
	a.CreateContainer(t, container)
	sasBody := azureBody(a, container)
	token := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	rememberSAS(token)
	delete(sasBody, "azure_account_key")
	sasBody["azure_sas_token"] = token
	bodies := map[string]map[string]any{
		"aws_s3":               awsBody(bucket, ak, sk, "us-east-1"),
		"s3_compatible":        e.compatBody(bucket, ak, sk),
		"gc_storage":           gcsBody(gcsBucket, serviceAccount(t)),
		"azure_blob key":       azureBody(a, container),
		"azure_blob sas token": sasBody,
	}
	decode := func(t *testing.T, raw []byte) map[string]any {
		t.Helper()
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
		return m
	}
	check := func(t *testing.T, what string, c map[string]any) {
		t.Helper()
		for f, typ := range specFieldTypes {
			v, present := c[f]
			if !present {
				t.Errorf("%s: no field %s", what, f)
				continue
			}
			if d := wantType(v, typ); d != "" {
				t.Errorf("%s: %s %s", what, f, d)
			}
		}
		if c["provider"] != "aws_s3" && c["s3_is_accelerated"] != false {
			t.Errorf("%s: s3_is_accelerated = %v, want false for %v", what, c["s3_is_accelerated"], c["provider"])
		}
	}
	ids := map[string]string{}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", base, admin, body)
			wantStatus(t, r, http.StatusCreated)
			c := decode(t, r.Body)
			check(t, "create", c)
			uid, _ := c["uid"].(string)
			id := jsonString(c["id"])
			if other, dup := ids[id]; dup {
				t.Errorf("id %s given to %s and %s", id, other, uid)
			}
			ids[id] = uid
			g := e.do("GET", base+uid+"/", admin, nil)
			wantStatus(t, g, http.StatusOK)
			got := decode(t, g.Body)
			check(t, "get", got)
			if jsonString(got["id"]) != id {
				t.Errorf("get answers id %v, create %s", got["id"], id)
			}
		})
	}
	l := e.do("GET", base+"?limit=100", admin, nil)
	wantStatus(t, l, http.StatusOK)
	var page struct{ Results []json.RawMessage }
	if err := json.Unmarshal(l.Body, &page); err != nil || len(page.Results) != len(bodies) {
		t.Fatalf("list = %s", l.Body)
	}
	for _, raw := range page.Results {
		check(t, "list", decode(t, raw))
	}
}

// TestNoRedirects asks every route of both APIs with and without its
// trailing slash, with a client that does not follow redirects (as the
// avala SDK's httpx client does not): each is answered directly, never
// with a 3xx.
func TestNoRedirects(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	admin := e.keys["acme/admin"]
	bucket, ak, sk := e.bucketUser(rwActions...)
	newConfig := func() string {
		r := e.do("POST", base, admin, e.compatBody(bucket, ak, sk))
		wantStatus(t, r, http.StatusCreated)
		return r.json(t)["uid"].(string)
	}
	uid := newConfig()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func(t *testing.T, method, path string, status int) {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Avala-Api-Key", admin)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			t.Fatalf("%s %s answered %d (Location %q)", method, path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp.StatusCode != status {
			t.Errorf("%s %s = %d, want %d", method, path, resp.StatusCode, status)
		}
	}
	org := "/v1/api/organizations/acme/buckets/"
	routes := []struct {
		method, path string
		status       int
	}{
		{"GET", base, http.StatusOK},
		{"POST", base, http.StatusBadRequest}, // no body
		{"GET", base + "setup-info/", http.StatusOK},
		{"GET", base + uid + "/", http.StatusOK},
		{"PATCH", base + uid + "/", http.StatusBadRequest},
		{"POST", base + uid + "/test/", http.StatusOK},
		{"GET", base + uid + "/verifications/", http.StatusOK},
		{"POST", org + "verify", http.StatusOK},
		{"POST", org + "1/verify", http.StatusOK},
	}
	for _, rt := range routes {
		trimmed := strings.TrimSuffix(rt.path, "/")
		for _, path := range []string{trimmed, trimmed + "/"} {
			t.Run(rt.method+" "+path, func(t *testing.T) { ask(t, rt.method, path, rt.status) })
		}
	}
	t.Run("DELETE", func(t *testing.T) {
		ask(t, "DELETE", base+uid+"/", http.StatusNoContent)
		ask(t, "DELETE", base+newConfig(), http.StatusNoContent)
	})
	// An unknown path stays a 404 either way.
	for _, p := range []string{"/api/v1/nope", "/api/v1/nope/", "/api/v1/storage-configs/" + uid + "/nope"} {
		ask(t, "GET", p, http.StatusNotFound)
	}
}
