package storageconfig

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

// body builds a valid aws_s3 request and applies edits (nil deletes a key).
func body(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"name":                 "Production S3 Bucket",
		"provider":             "aws_s3",
		"s3_bucket_name":       "acme-datasets",
		"s3_bucket_region":     "us-west-2",
		"s3_bucket_prefix":     "annotations/",
		"s3_access_key_id":     "AKIAIOSFODNN7EXAMPLE",
		"s3_secret_access_key": "test-secret-value-not-real",
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCreateValid(t *testing.T) {
	c, creds, err := ParseCreate(body(t, map[string]any{"s3_bucket_prefix": "/a/b", "name": "  spaced  "}))
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	if c.Settings.(*s3.Settings).KeyPrefix != "a/b/" || c.Name != "spaced" || c.Settings.(*s3.Settings).Auth != s3.AuthAccessKey || c.Provider != s3.NameAWS {
		t.Errorf("normalised config = %+v", c)
	}
	if creds["access_key_id"] != "AKIAIOSFODNN7EXAMPLE" || creds["secret_access_key"] == "" {
		t.Errorf("credentials not returned")
	}
}

// iamRole edits a valid aws_s3 request into a valid iam_role one, then
// applies edits.
func iamRole(edits map[string]any) map[string]any {
	m := map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/bucketlink-access",
		"s3_access_key_id": nil, "s3_secret_access_key": nil}
	maps.Copy(m, edits)
	return m
}

func TestParseCreateIAMRole(t *testing.T) {
	c, creds, err := ParseCreate(body(t, iamRole(map[string]any{"s3_role_arn": " arn:aws:iam::123456789012:role/data/bucketlink-access "})))
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	if c.Settings.(*s3.Settings).Auth != s3.AuthIAMRole || c.Settings.(*s3.Settings).RoleARN != "arn:aws:iam::123456789012:role/data/bucketlink-access" {
		t.Errorf("config = %+v", c)
	}
	if len(creds) != 0 {
		t.Errorf("credentials = %+v, want none", creds)
	}
	b, _ := json.Marshal(ToResponse(c))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["s3_auth_method"] != "iam_role" || m["s3_role_arn"] != c.Settings.(*s3.Settings).RoleARN {
		t.Errorf("response auth fields = %v %v", m["s3_auth_method"], m["s3_role_arn"])
	}
}

func TestParseCreateS3Compatible(t *testing.T) {
	c, _, err := ParseCreate(body(t, map[string]any{
		"provider": "s3_compatible", "s3_endpoint_url": "HTTPS://MinIO.example.com/", "s3_bucket_region": nil,
		"s3_access_key_id": "minio-user",
	}))
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	if c.Settings.(*s3.Settings).Endpoint != "https://minio.example.com" || !c.Settings.(*s3.Settings).UsePathStyle || c.Settings.(*s3.Settings).Region != "" {
		t.Errorf("config = %+v", c)
	}
	c, _, err = ParseCreate(body(t, map[string]any{
		"provider": "s3_compatible", "s3_endpoint_url": "https://r2.example.com", "s3_use_path_style": false, "s3_bucket_region": "auto",
	}))
	if err != nil || c.Settings.(*s3.Settings).UsePathStyle {
		t.Fatalf("path style override: %v %+v", err, c)
	}
}

func TestParseCreateErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		body   []byte
		fields []string // exactly these fields have errors
		want   string   // a substring of the first message of fields[0]
	}{
		{"missing everything", []byte(`{}`), []string{"name", "provider"}, "required"},
		{"missing s3 fields", body(t, map[string]any{"s3_bucket_name": nil, "s3_bucket_region": nil, "s3_access_key_id": nil, "s3_secret_access_key": nil}),
			// s3_bucket_region may be left out: the verifier finds it.
			[]string{"s3_access_key_id", "s3_bucket_name", "s3_secret_access_key"}, "required"},
		{"unsupported provider", body(t, map[string]any{"provider": "dropbox"}), []string{"provider"}, "Unsupported provider: dropbox"},
		{"bucket too short and upper case", body(t, map[string]any{"s3_bucket_name": "AB"}), []string{"s3_bucket_name"}, "between 3 and 63"},
		{"bucket as IP", body(t, map[string]any{"s3_bucket_name": "192.168.5.4"}), []string{"s3_bucket_name"}, "IP address"},
		{"bucket double dot", body(t, map[string]any{"s3_bucket_name": "a..b"}), []string{"s3_bucket_name"}, "adjacent"},
		{"bucket reserved prefix", body(t, map[string]any{"s3_bucket_name": "xn--abc"}), []string{"s3_bucket_name"}, "xn--"},
		{"bucket reserved suffix", body(t, map[string]any{"s3_bucket_name": "abc-s3alias"}), []string{"s3_bucket_name"}, "-s3alias"},
		{"bucket edge hyphen", body(t, map[string]any{"s3_bucket_name": "-abc"}), []string{"s3_bucket_name"}, "begin and end"},
		{"bad region", body(t, map[string]any{"s3_bucket_region": "Oregon"}), []string{"s3_bucket_region"}, "us-west-2"},
		{"prefix dotdot", body(t, map[string]any{"s3_bucket_prefix": "a/../b"}), []string{"s3_bucket_prefix"}, ".."},
		{"prefix empty segment", body(t, map[string]any{"s3_bucket_prefix": "a//b"}), []string{"s3_bucket_prefix"}, "//"},
		{"prefix too long", body(t, map[string]any{"s3_bucket_prefix": strings.Repeat("p", 1100)}), []string{"s3_bucket_prefix"}, "1024"},
		{"name too long", body(t, map[string]any{"name": long}), []string{"name"}, "255"},
		{"name blank", body(t, map[string]any{"name": "   "}), []string{"name"}, "blank"},
		{"aws key id format", body(t, map[string]any{"s3_access_key_id": "lowercase-key"}), []string{"s3_access_key_id"}, "AWS access key ID"},
		{"secret with spaces", body(t, map[string]any{"s3_secret_access_key": "has space"}), []string{"s3_secret_access_key"}, "printable"},
		{"wrong types", body(t, map[string]any{"name": 12, "s3_is_accelerated": "yes"}), []string{"name", "s3_is_accelerated"}, "string"},
		{"unknown field", body(t, map[string]any{"s3_secret": "x"}), []string{"s3_secret"}, "Unknown field"},
		{"foreign provider field", body(t, map[string]any{"gc_storage_auth_json_content": "{}"}), []string{"gc_storage_auth_json_content"}, "does not apply"},
		{"endpoint on aws_s3", body(t, map[string]any{"s3_endpoint_url": "https://x.example.com"}), []string{"s3_endpoint_url"}, "does not apply"},
		{"iam role with keys", body(t, map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/x"}),
			[]string{"s3_access_key_id", "s3_secret_access_key"}, "Not used with s3_auth_method \"iam_role\""},
		{"iam role without arn", body(t, iamRole(map[string]any{"s3_role_arn": nil})), []string{"s3_role_arn"}, "required"},
		{"iam role blank arn", body(t, iamRole(map[string]any{"s3_role_arn": "  "})), []string{"s3_role_arn"}, "blank"},
		{"iam role user arn", body(t, iamRole(map[string]any{"s3_role_arn": "arn:aws:iam::123456789012:user/x"})), []string{"s3_role_arn"}, "ARN of an IAM role"},
		{"iam role on s3_compatible", body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://x.example.com",
			"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/x", "s3_access_key_id": nil, "s3_secret_access_key": nil}),
			[]string{"s3_auth_method"}, "only for provider aws_s3"},
		{"unknown auth method", body(t, map[string]any{"s3_auth_method": "sso"}), []string{"s3_auth_method"}, "iam_role"},
		{"role arn with keys", body(t, map[string]any{"s3_role_arn": "arn:aws:iam::123456789012:role/x"}), []string{"s3_role_arn"}, "iam_role"},
		{"accelerated with dots", body(t, map[string]any{"s3_bucket_name": "a.b.c", "s3_is_accelerated": true}), []string{"s3_is_accelerated"}, "dots"},
		{"compatible without endpoint", body(t, map[string]any{"provider": "s3_compatible", "s3_access_key_id": "minio"}), []string{"s3_endpoint_url"}, "required"},
		{"compatible endpoint with creds", body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://u:p@x.example.com"}), []string{"s3_endpoint_url"}, "user name"},
		{"compatible endpoint scheme", body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "ftp://x.example.com"}), []string{"s3_endpoint_url"}, "https://"},
		{"compatible endpoint path", body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://x.example.com/bucket"}), []string{"s3_endpoint_url"}, "path"},
		{"accelerate on compatible", body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://x.example.com", "s3_is_accelerated": true}), []string{"s3_is_accelerated"}, "does not apply"},
		{"malformed json", []byte(`{"name": `), []string{errcode.NonField}, "Malformed JSON"},
		{"not an object", []byte(`[1,2]`), []string{errcode.NonField}, "JSON object"},
		{"trailing data", []byte(`{} {}`), []string{errcode.NonField}, "after the JSON object"},
		{"empty body", []byte(``), []string{errcode.NonField}, "empty"},
		{"null body", []byte(`null`), []string{errcode.NonField}, "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseCreate(tt.body)
			fe, ok := err.(errcode.FieldErrors)
			if !ok {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			if got := slices.Sorted(maps.Keys(fe)); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, fe)
			}
			if msg := fe[tt.fields[0]][0]; !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
			for _, msgs := range fe {
				for _, m := range msgs {
					if strings.Contains(m, "test-secret-value-not-real") {
						t.Errorf("message echoes the secret: %q", m)
					}
				}
			}
		})
	}
}

func TestToResponseNullsForeignFields(t *testing.T) {
	c, _, err := ParseCreate(body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://x.example.com", "s3_access_key_id": "k1k"}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ToResponse(c))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if v, ok := m["s3_is_accelerated"]; v != false {
		t.Errorf("s3_is_accelerated = %v (present %v), want false: the spec types it as a boolean", v, ok)
	}
	for _, f := range []string{"gc_storage_bucket_name", "gc_storage_prefix", "last_verified_at", "s3_cloudfront_domain", "s3_role_arn",
		"gc_storage_auth_method", "azure_account_name", "azure_container_name", "azure_prefix", "azure_endpoint_url"} {
		if v, ok := m[f]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", f, v, ok)
		}
	}
	for _, f := range []string{"s3_access_key_id", "s3_secret_access_key"} {
		if _, ok := m[f]; ok {
			t.Errorf("response has credential field %s", f)
		}
	}
	if m["s3_endpoint_url"] != "https://x.example.com" || m["s3_use_path_style"] != true {
		t.Errorf("s3_compatible fields = %v %v", m["s3_endpoint_url"], m["s3_use_path_style"])
	}
}

func TestValidRoleARN(t *testing.T) {
	tests := []struct {
		name, arn string
		ok        bool
	}{
		{"aws", "arn:aws:iam::123456789012:role/bucketlink", true},
		{"china", "arn:aws-cn:iam::123456789012:role/bucketlink", true},
		{"govcloud with path", "arn:aws-us-gov:iam::123456789012:role/service/data/bucketlink+x=y,z.@-_", true},
		{"other partition", "arn:aws-iso:iam::123456789012:role/bucketlink", false},
		{"short account", "arn:aws:iam::12345678901:role/bucketlink", false},
		{"user", "arn:aws:iam::123456789012:user/bucketlink", false},
		{"no name", "arn:aws:iam::123456789012:role/", false},
		{"path without name", "arn:aws:iam::123456789012:role/path/", false},
		{"name too long", "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65), false},
		{"space in name", "arn:aws:iam::123456789012:role/my role", false},
		{"region given", "arn:aws:iam:us-east-1:123456789012:role/x", false},
		{"sts assumed role", "arn:aws:sts::123456789012:assumed-role/x/y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s3.ValidRoleARN(tt.arn); got != tt.ok {
				t.Errorf("ValidRoleARN(%q) = %v, want %v", tt.arn, got, tt.ok)
			}
		})
	}
}
