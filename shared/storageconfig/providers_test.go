package storageconfig

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/errcode"
	azurep "github.com/bucketlink/bucketlink/shared/provider/azure"
	gcsp "github.com/bucketlink/bucketlink/shared/provider/gcs"
)

// edited marshals base after edits (nil deletes a key).
func edited(t *testing.T, base, edits map[string]any) []byte {
	t.Helper()
	m := maps.Clone(base)
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

// gcsBody is a valid gc_storage request with a service-account key, after
// edits.
func gcsBody(t *testing.T, key string, edits map[string]any) []byte {
	return edited(t, map[string]any{
		"name": "Production GCS Bucket", "provider": "gc_storage",
		"gc_storage_bucket_name": "acme-datasets", "gc_storage_prefix": "annotations/",
		"gc_storage_auth_json_content": key,
	}, edits)
}

// hmacEdits turn a gcsBody into a valid HMAC request, then apply edits.
func hmacEdits(id, secret string, edits map[string]any) map[string]any {
	m := map[string]any{"gc_storage_auth_method": "hmac", "gc_storage_auth_json_content": nil,
		"gc_storage_hmac_access_id": id, "gc_storage_hmac_secret": secret}
	maps.Copy(m, edits)
	return m
}

// azureBody is a valid azure_blob request with an account key, after edits.
func azureBody(t *testing.T, key string, edits map[string]any) []byte {
	return edited(t, map[string]any{
		"name": "Production Azure Container", "provider": "azure_blob",
		"azure_account_name": "acmestorage", "azure_container_name": "datasets", "azure_prefix": "/annotations",
		"azure_account_key": key,
	}, edits)
}

func randomBase64(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// sasToken is a SAS token shaped like Azure's with a random signature.
func sasToken(t *testing.T, perms, expiry string) string {
	return url.Values{"sv": {"2022-11-02"}, "sr": {"c"}, "sp": {perms}, "se": {expiry}, "spr": {"https"},
		"sig": {randomBase64(t, 32)}}.Encode()
}

func TestParseCreateGCS(t *testing.T) {
	key := anyblobtest.ServiceAccountJSON(t, nil)
	c, creds, err := ParseCreate(gcsBody(t, key, map[string]any{"gc_storage_prefix": "/a/b"}))
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	if c.Provider != gcsp.Name || c.Settings.(*gcsp.Settings).BucketName != "acme-datasets" || c.Settings.(*gcsp.Settings).KeyPrefix != "a/b/" ||
		c.Settings.(*gcsp.Settings).Auth != gcsp.AuthServiceAccount {
		t.Errorf("config = %+v", c)
	}
	if creds["service_account_json"] != key || creds["access_key_id"] != "" {
		t.Errorf("credentials not returned as given")
	}
	if c.Bucket() != "acme-datasets" || c.Prefix() != "a/b/" {
		t.Errorf("Bucket(), Prefix() = %q, %q", c.Bucket(), c.Prefix())
	}

	id, secret := anyblobtest.HMACAccessID(t), randomBase64(t, 30)
	c, creds, err = ParseCreate(gcsBody(t, key, hmacEdits(" "+id+" ", secret, nil)))
	if err != nil {
		t.Fatalf("ParseCreate hmac: %v", err)
	}
	if c.Settings.(*gcsp.Settings).Auth != gcsp.AuthHMAC || !maps.Equal(creds, Credentials{"access_key_id": id, "secret_access_key": secret}) {
		t.Errorf("hmac config = %+v", c)
	}
}

func TestParseCreateAzure(t *testing.T) {
	key := randomBase64(t, 64)
	c, creds, err := ParseCreate(azureBody(t, key, nil))
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	if c.Provider != azurep.Name || c.Settings.(*azurep.Settings).Account != "acmestorage" || c.Settings.(*azurep.Settings).Container != "datasets" ||
		c.Settings.(*azurep.Settings).KeyPrefix != "annotations/" || c.Settings.(*azurep.Settings).Endpoint != "https://acmestorage.blob.core.windows.net/" {
		t.Errorf("config = %+v", c)
	}
	if !maps.Equal(creds, Credentials{"azure_account_key": key}) {
		t.Errorf("credentials not returned as given")
	}
	if c.Bucket() != "datasets" || c.Prefix() != "annotations/" {
		t.Errorf("Bucket(), Prefix() = %q, %q", c.Bucket(), c.Prefix())
	}

	token := sasToken(t, "racwdl", "2099-01-01T00:00:00Z")
	c, creds, err = ParseCreate(azureBody(t, key, map[string]any{"azure_account_key": nil, "azure_sas_token": "?" + token,
		"azure_endpoint_url": "HTTP://127.0.0.1:10000/acmestorage"}))
	if err != nil {
		t.Fatalf("ParseCreate sas: %v", err)
	}
	if c.Settings.(*azurep.Settings).Endpoint != "http://127.0.0.1:10000/acmestorage/" || !maps.Equal(creds, Credentials{"azure_sas_token": token}) {
		t.Errorf("sas config = %+v", c)
	}
}

func TestParseCreateProviderErrors(t *testing.T) {
	key := anyblobtest.ServiceAccountJSON(t, nil)
	azureKey := randomBase64(t, 64)
	id, secret := anyblobtest.HMACAccessID(t), randomBase64(t, 30)
	token := sasToken(t, "racwdl", "2099-01-01T00:00:00Z")
	secrets := []string{key, azureKey, secret, token}
	tests := []struct {
		name   string
		body   []byte
		fields []string // exactly these fields have errors
		want   string   // a substring of the first message of fields[0]
	}{
		{"gcs missing fields", gcsBody(t, key, map[string]any{"gc_storage_bucket_name": nil, "gc_storage_auth_json_content": nil}),
			[]string{"gc_storage_auth_json_content", "gc_storage_bucket_name"}, "required"},
		{"gcs bad bucket", gcsBody(t, key, map[string]any{"gc_storage_bucket_name": "Goog_Bucket"}), []string{"gc_storage_bucket_name"}, "lower-case"},
		{"gcs prefix dotdot", gcsBody(t, key, map[string]any{"gc_storage_prefix": "a/../b"}), []string{"gc_storage_prefix"}, ".."},
		{"gcs key not json", gcsBody(t, "not json "+secret, nil), []string{"gc_storage_auth_json_content"}, "not valid JSON"},
		{"gcs key wrong type", gcsBody(t, anyblobtest.ServiceAccountJSON(t, func(f map[string]any) { f["type"] = "authorized_user" }), nil),
			[]string{"gc_storage_auth_json_content"}, `"authorized_user"`},
		{"gcs key without email", gcsBody(t, anyblobtest.ServiceAccountJSON(t, func(f map[string]any) { delete(f, "client_email") }), nil),
			[]string{"gc_storage_auth_json_content"}, "client_email"},
		{"gcs key without project", gcsBody(t, anyblobtest.ServiceAccountJSON(t, func(f map[string]any) { delete(f, "project_id") }), nil),
			[]string{"gc_storage_auth_json_content"}, "project_id"},
		{"gcs key with bad private key", gcsBody(t, anyblobtest.ServiceAccountJSON(t, func(f map[string]any) { f["private_key"] = secret }), nil),
			[]string{"gc_storage_auth_json_content"}, "PEM"},
		{"gcs key too big", gcsBody(t, strings.Repeat(" ", 17<<10), nil), []string{"gc_storage_auth_json_content"}, "at most"},
		{"gcs s3 credentials", gcsBody(t, key, map[string]any{"s3_access_key_id": "AKIAIOSFODNN7EXAMPLE", "s3_secret_access_key": secret}),
			[]string{"s3_access_key_id", "s3_secret_access_key"}, "does not apply to provider gc_storage"},
		{"gcs azure credentials", gcsBody(t, key, map[string]any{"azure_account_key": azureKey}), []string{"azure_account_key"}, "does not apply"},
		{"gcs unknown auth method", gcsBody(t, key, map[string]any{"gc_storage_auth_method": "oauth"}), []string{"gc_storage_auth_method"}, "hmac"},
		{"gcs hmac fields without hmac", gcsBody(t, key, map[string]any{"gc_storage_hmac_access_id": id, "gc_storage_hmac_secret": secret}),
			[]string{"gc_storage_hmac_access_id", "gc_storage_hmac_secret"}, "Only used with"},
		{"hmac missing pair", gcsBody(t, key, hmacEdits(id, secret, map[string]any{"gc_storage_hmac_access_id": nil, "gc_storage_hmac_secret": nil})),
			[]string{"gc_storage_hmac_access_id", "gc_storage_hmac_secret"}, "required"},
		{"hmac with json key", gcsBody(t, key, hmacEdits(id, secret, map[string]any{"gc_storage_auth_json_content": key})),
			[]string{"gc_storage_auth_json_content"}, "Not used with"},
		{"hmac bad access id", gcsBody(t, key, hmacEdits("AKIAIOSFODNN7EXAMPLE", secret, nil)), []string{"gc_storage_hmac_access_id"}, "GOOG"},
		{"hmac secret with spaces", gcsBody(t, key, hmacEdits(id, "has space "+secret, nil)), []string{"gc_storage_hmac_secret"}, "printable"},
		{"azure missing fields", azureBody(t, azureKey, map[string]any{"azure_account_name": nil, "azure_container_name": nil, "azure_account_key": nil}),
			[]string{"azure_account_key", "azure_account_name", "azure_container_name", "azure_sas_token"}, "either"},
		{"azure both credentials", azureBody(t, azureKey, map[string]any{"azure_sas_token": token}),
			[]string{"azure_account_key", "azure_sas_token"}, "not both"},
		{"azure account name upper case", azureBody(t, azureKey, map[string]any{"azure_account_name": "AcmeStorage"}),
			[]string{"azure_account_name"}, "lower-case letters and digits"},
		{"azure account name long", azureBody(t, azureKey, map[string]any{"azure_account_name": strings.Repeat("a", 25)}),
			[]string{"azure_account_name"}, "3 to 24"},
		{"azure container double hyphen", azureBody(t, azureKey, map[string]any{"azure_container_name": "data--sets"}),
			[]string{"azure_container_name"}, "two hyphens"},
		{"azure container edge", azureBody(t, azureKey, map[string]any{"azure_container_name": "-data"}),
			[]string{"azure_container_name"}, "start and end"},
		{"azure prefix control", azureBody(t, azureKey, map[string]any{"azure_prefix": "a\x01b"}), []string{"azure_prefix"}, "control"},
		{"azure key not base64", azureBody(t, "not base64 "+secret, nil), []string{"azure_account_key"}, "base64"},
		{"azure key blank", azureBody(t, " ", nil), []string{"azure_account_key"}, "blank"},
		{"azure sas without signature", azureBody(t, azureKey, map[string]any{"azure_account_key": nil,
			"azure_sas_token": "sv=2022-11-02&sr=c&sp=rl&se=2099-01-01"}), []string{"azure_sas_token"}, "no signature"},
		{"azure sas is a url", azureBody(t, azureKey, map[string]any{"azure_account_key": nil,
			"azure_sas_token": "https://acme.blob.core.windows.net/datasets?" + token}), []string{"azure_sas_token"}, "URL"},
		{"azure endpoint scheme", azureBody(t, azureKey, map[string]any{"azure_endpoint_url": "ftp://acme.example.com"}),
			[]string{"azure_endpoint_url"}, "https://"},
		{"azure endpoint query", azureBody(t, azureKey, map[string]any{"azure_endpoint_url": "https://acme.example.com/?" + token}),
			[]string{"azure_endpoint_url"}, "no user name"},
		{"azure endpoint user", azureBody(t, azureKey, map[string]any{"azure_endpoint_url": "https://u:p@acme.example.com/"}),
			[]string{"azure_endpoint_url"}, "no user name"},
		{"azure s3 fields", azureBody(t, azureKey, map[string]any{"s3_bucket_name": "acme", "gc_storage_auth_json_content": key}),
			[]string{"gc_storage_auth_json_content", "s3_bucket_name"}, "does not apply to provider azure_blob"},
		{"s3 with azure credentials", body(t, map[string]any{"azure_sas_token": token}), []string{"azure_sas_token"}, "does not apply to provider aws_s3"},
		{"s3 with hmac credentials", body(t, map[string]any{"gc_storage_hmac_secret": secret}), []string{"gc_storage_hmac_secret"}, "does not apply"},
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
					for _, s := range secrets {
						if strings.Contains(m, s) {
							t.Errorf("message echoes a secret: %q", m)
						}
					}
				}
			}
		})
	}
}

func TestGCSBucketNameProblems(t *testing.T) {
	tests := []struct {
		name, bucket string
		want         string // "" means valid; otherwise a substring of a problem
	}{
		{"simple", "acme-datasets", ""},
		{"underscores", "acme_datasets_2", ""},
		{"dotted", "data.acme.example.com", ""},
		{"max plain", strings.Repeat("a", 63), ""},
		{"dotted long", strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 30), ""},
		{"too short", "ab", "at least 3"},
		{"plain too long", strings.Repeat("a", 64), "at most 63"},
		{"dotted too long", strings.Repeat(strings.Repeat("a", 60)+".", 3) + strings.Repeat("b", 60), "at most 222"},
		{"component too long", strings.Repeat("a", 64) + ".com", "dot-separated part"},
		{"upper case", "Acme", "lower-case"},
		{"space", "acme data", "lower-case"},
		{"starts with dash", "-acme", "start and end"},
		{"ends with underscore", "acme_", "start and end"},
		{"adjacent dots", "acme..data", "adjacent"},
		{"ip address", "192.168.5.4", "IP address"},
		{"goog prefix", "goog-data", "goog"},
		{"google inside", "my-google-data", "google"},
		{"misspelt google", "my-g00gle-data", "google"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := gcsp.BucketNameProblems(tt.bucket)
			if tt.want == "" {
				if len(probs) > 0 {
					t.Errorf("GCSBucketNameProblems(%q) = %q, want none", tt.bucket, probs)
				}
				return
			}
			if !strings.Contains(strings.Join(probs, " | "), tt.want) {
				t.Errorf("GCSBucketNameProblems(%q) = %q, want one containing %q", tt.bucket, probs, tt.want)
			}
		})
	}
}

func TestToResponseProviders(t *testing.T) {
	gcs, _, err := ParseCreate(gcsBody(t, anyblobtest.ServiceAccountJSON(t, nil), nil))
	if err != nil {
		t.Fatal(err)
	}
	azure, _, err := ParseCreate(azureBody(t, randomBase64(t, 64), map[string]any{"azure_prefix": nil}))
	if err != nil {
		t.Fatal(err)
	}
	s3Fields := []string{"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_auth_method",
		"s3_role_arn", "s3_endpoint_url", "s3_use_path_style", "s3_cloudfront_domain", "s3_cloudfront_public_key_id"}
	gcsFields := []string{"gc_storage_bucket_name", "gc_storage_prefix", "gc_storage_auth_method"}
	azureFields := []string{"azure_account_name", "azure_container_name", "azure_prefix", "azure_endpoint_url"}
	tests := []struct {
		name  string
		cfg   *Config
		nulls []string
		want  map[string]any
	}{
		{"gc_storage", gcs, append(slices.Clone(s3Fields), azureFields...), map[string]any{
			"gc_storage_bucket_name": "acme-datasets", "gc_storage_prefix": "annotations/", "gc_storage_auth_method": "service_account"}},
		{"azure_blob", azure, append(append(slices.Clone(s3Fields), gcsFields...), "azure_prefix"), map[string]any{
			"azure_account_name": "acmestorage", "azure_container_name": "datasets",
			"azure_endpoint_url": "https://acmestorage.blob.core.windows.net/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(ToResponse(tt.cfg))
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			for _, f := range tt.nulls {
				if v, ok := m[f]; !ok || v != nil {
					t.Errorf("%s = %v (present %v), want null", f, v, ok)
				}
			}
			if v := m["s3_is_accelerated"]; v != false {
				t.Errorf("s3_is_accelerated = %v, want false: the spec types it as a boolean", v)
			}
			for f, v := range tt.want {
				if m[f] != v {
					t.Errorf("%s = %v, want %v", f, m[f], v)
				}
			}
			for f := range m {
				if strings.Contains(f, "key") && f != "s3_cloudfront_public_key_id" || strings.Contains(f, "secret") ||
					strings.Contains(f, "token") || strings.Contains(f, "json") || strings.Contains(f, "access_id") {
					t.Errorf("response has credential field %s", f)
				}
			}
		})
	}
}

func TestCredentialsSecrets(t *testing.T) {
	key := anyblobtest.ServiceAccountJSON(t, nil)
	token := sasToken(t, "rl", "2099-01-01T00:00:00Z")
	sig, _ := url.ParseQuery(token)
	c := Credentials{"secret_access_key": "s3-secret", "service_account_json": key, "azure_account_key": randomBase64(t, 64), "azure_sas_token": token}
	got := c.Secrets()
	want := append([]string{"s3-secret", key, c["azure_account_key"], token, sig.Get("sig"), url.QueryEscape(sig.Get("sig"))},
		anyblobtest.PrivateKeyLines(t, key)...)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("Secrets() lacks %.12s…", w)
		}
	}
	if s := (Credentials{"access_key_id": "AKID"}).Secrets(); len(s) != 0 {
		t.Errorf("an access key ID alone gives secrets %q", s)
	}
}
