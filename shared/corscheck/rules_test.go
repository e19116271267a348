package corscheck_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
)

var (
	upload = corscheck.Want{Method: "PUT", Headers: []string{"content-type", "x-ms-blob-type"}}
	read   = corscheck.Want{Method: "GET"}
)

func TestDiagnose(t *testing.T) {
	other := blob.CORSRule{AllowedOrigins: []string{"https://other.example"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}
	getOnly := blob.CORSRule{AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"GET", "HEAD"}, AllowedHeaders: []string{"*"}}
	noBlobType := blob.CORSRule{AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"Content-Type"}}
	tests := []struct {
		name  string
		rules []blob.CORSRule
		w     corscheck.Want
		want  corscheck.Code
		says  string
	}{
		{name: "no rules", w: upload, want: corscheck.CodeOriginNotAllowed, says: "no CORS rules"},
		{name: "other origin only", rules: []blob.CORSRule{other}, w: upload, want: corscheck.CodeOriginNotAllowed, says: "The bucket's one CORS rule does not allow the origin " + appOrigin},
		{name: "other origins only", rules: []blob.CORSRule{other, other}, w: upload, want: corscheck.CodeOriginNotAllowed, says: "None of the bucket's 2 CORS rules allows the origin " + appOrigin},
		{name: "GET only", rules: []blob.CORSRule{other, getOnly}, w: upload, want: corscheck.CodeMethodNotAllowed, says: "(rule 2) allows GET, HEAD, not PUT"},
		{name: "GET only serves reads", rules: []blob.CORSRule{other, getOnly}, w: read, says: "rule 2 allows"},
		{name: "header missing", rules: []blob.CORSRule{noBlobType}, w: upload, want: corscheck.CodeHeaderNotAllowed, says: "does not allow the request header x-ms-blob-type"},
		{name: "later rule serves", rules: []blob.CORSRule{noBlobType, {AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"content-type", "x-ms-*"}}}, w: upload, says: "rule 2 allows"},
		{name: "origin pattern", rules: []blob.CORSRule{{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"put"}, AllowedHeaders: []string{"*"}}}, w: upload, says: "rule 1 allows"},
		{name: "origin pattern does not match the bare domain", rules: []blob.CORSRule{{AllowedOrigins: []string{"https://*.app.example.com"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"*"}}}, w: upload, want: corscheck.CodeOriginNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, why := corscheck.Diagnose(tt.rules, appOrigin, tt.w)
			if code != tt.want || !strings.Contains(why, tt.says) {
				t.Fatalf("Diagnose = %q, %q; want %q saying %q", code, why, tt.want, tt.says)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	wants := []corscheck.Want{read, upload}
	other := blob.CORSRule{AllowedOrigins: []string{"https://other.example"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: 60}
	added := blob.CORSRule{
		AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"GET", "PUT"},
		AllowedHeaders: []string{"content-type", "x-ms-blob-type"}, ExposedHeaders: []string{"ETag"}, MaxAgeSeconds: corscheck.NewRuleMaxAge,
	}
	tests := []struct {
		name             string
		rules            []blob.CORSRule
		origins          []string
		want             []blob.CORSRule
		added, changedEx bool
	}{
		{name: "no rules", origins: []string{appOrigin}, want: []blob.CORSRule{added}, added: true},
		{name: "other rules kept, new rule appended", rules: []blob.CORSRule{other}, origins: []string{appOrigin}, want: []blob.CORSRule{other, added}, added: true},
		{
			name:    "the origin's own rule extended",
			rules:   []blob.CORSRule{other, {AllowedOrigins: []string{"HTTPS://APP.example.com"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"Content-Type"}, MaxAgeSeconds: 7200}},
			origins: []string{appOrigin},
			want: []blob.CORSRule{other, {
				AllowedOrigins: []string{"HTTPS://APP.example.com"}, AllowedMethods: []string{"GET", "PUT"},
				AllowedHeaders: []string{"Content-Type", "x-ms-blob-type"}, ExposedHeaders: []string{"ETag"}, MaxAgeSeconds: 7200,
			}},
			added: true, changedEx: true,
		},
		{
			name:    "a shared rule is not widened",
			rules:   []blob.CORSRule{{AllowedOrigins: []string{appOrigin, "https://other.example"}, AllowedMethods: []string{"GET"}}},
			origins: []string{appOrigin},
			want:    []blob.CORSRule{{AllowedOrigins: []string{appOrigin, "https://other.example"}, AllowedMethods: []string{"GET"}}, added},
			added:   true,
		},
		{
			name:    "only the origins not served",
			rules:   []blob.CORSRule{{AllowedOrigins: []string{"https://served.example"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}},
			origins: []string{"https://served.example", appOrigin},
			want:    []blob.CORSRule{{AllowedOrigins: []string{"https://served.example"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}, added},
			added:   true,
		},
		{
			name:    "nothing missing",
			rules:   []blob.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}},
			origins: []string{appOrigin},
			want:    []blob.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneRules(tt.rules)
			got, added, changed := corscheck.Merge(tt.rules, tt.origins, wants)
			if !reflect.DeepEqual(got, tt.want) || added != tt.added || changed != tt.changedEx {
				t.Fatalf("Merge = %#v, %v, %v\nwant %#v, %v, %v", got, added, changed, tt.want, tt.added, tt.changedEx)
			}
			if !reflect.DeepEqual(tt.rules, before) {
				t.Errorf("Merge changed its input: %#v", tt.rules)
			}
			for _, o := range tt.origins {
				for _, w := range wants {
					if code, why := corscheck.Diagnose(got, o, w); code != "" {
						t.Errorf("after Merge, %s %s: %s %s", o, w.Method, code, why)
					}
				}
			}
		})
	}
}

func cloneRules(rules []blob.CORSRule) []blob.CORSRule {
	var out []blob.CORSRule
	for _, r := range rules {
		r.AllowedOrigins = append([]string(nil), r.AllowedOrigins...)
		r.AllowedMethods = append([]string(nil), r.AllowedMethods...)
		r.AllowedHeaders = append([]string(nil), r.AllowedHeaders...)
		r.ExposedHeaders = append([]string(nil), r.ExposedHeaders...)
		out = append(out, r)
	}
	return out
}
