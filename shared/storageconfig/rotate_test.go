package storageconfig

import (
	"encoding/json"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
)

// stored is the config a create of b makes.
func stored(t *testing.T, b []byte) *Config {
	t.Helper()
	c, _, err := ParseCreate(b)
	if err != nil {
		t.Fatalf("ParseCreate: %v", err)
	}
	return c
}

func wire(c *Config, s Settings) map[string]any {
	cp := *c
	cp.Settings = s
	return ToResponse(&cp).Fields
}

func TestParsePatchFor(t *testing.T) {
	key := anyblobtest.ServiceAccountJSON(t, nil)
	azKey := randomBase64(t, 64)
	s3c := stored(t, body(t, nil))
	iam := stored(t, body(t, iamRole(map[string]any{"s3_role_arn": "arn:aws:iam::123456789012:role/old"})))
	gcs := stored(t, gcsBody(t, key, nil))
	az := stored(t, azureBody(t, azKey, nil))
	sas := sasToken(t, "rwdl", "2099-01-01T00:00:00Z")
	const spTenant, spClient = "72f988bf-86f1-41af-91ab-2d7cd011db47", "00000000-1111-2222-3333-444444444444"
	azSP := stored(t, azureBody(t, "", map[string]any{"azure_account_key": nil, "azure_auth_method": "service_principal",
		"azure_tenant_id": spTenant, "azure_client_id": spClient, "azure_client_secret": "old"}))
	gcsImp := stored(t, gcsBody(t, "", map[string]any{"gc_storage_auth_json_content": nil, "gc_storage_auth_method": "impersonation",
		"gc_storage_service_account_email": "sa@p.iam.gserviceaccount.com"}))
	gcsHMAC := stored(t, gcsBody(t, "", hmacEdits("GOOG1EXAMPLEACCESSID12", "s", nil)))

	tests := []struct {
		name   string
		c      *Config
		body   string
		rotate bool
		// settings: wire fields the new settings must have; nil: Settings
		// stays nil (nothing to check).
		settings map[string]any
		creds    Credentials
		errs     map[string]string
	}{
		{"name only: no settings", s3c, `{"name": "x"}`, false, nil, nil, nil},
		{"keys rotate", s3c, `{"s3_access_key_id": "AKIAIOSFODNN7NEWKEY1", "s3_secret_access_key": "new-secret"}`, true,
			map[string]any{"s3_bucket_name": "acme-datasets", "s3_auth_method": "access_key"},
			Credentials{"access_key_id": "AKIAIOSFODNN7NEWKEY1", "secret_access_key": "new-secret"}, nil},
		{"keys and bucket together", s3c, `{"s3_bucket_name": "other-bucket", "s3_bucket_prefix": null, "s3_access_key_id": "AKIAIOSFODNN7NEWKEY1", "s3_secret_access_key": "s"}`, true,
			map[string]any{"s3_bucket_name": "other-bucket", "s3_bucket_prefix": nil, "s3_bucket_region": "us-west-2"},
			Credentials{"access_key_id": "AKIAIOSFODNN7NEWKEY1", "secret_access_key": "s"}, nil},
		{"half a key pair", s3c, `{"s3_secret_access_key": "new"}`, false, nil, nil,
			map[string]string{"s3_access_key_id": "required"}},
		{"bucket only: stored credentials", s3c, `{"s3_bucket_name": "other-bucket", "s3_bucket_prefix": "/x"}`, false,
			map[string]any{"s3_bucket_name": "other-bucket", "s3_bucket_prefix": "x/", "s3_auth_method": "access_key"}, nil, nil},
		{"settings sent back unchanged: nothing to check", s3c, `{"provider": "aws_s3", "s3_bucket_name": "acme-datasets", "s3_auth_method": "access_key", "s3_role_arn": null}`,
			false, nil, nil, nil},
		{"bad bucket, as create says", s3c, `{"s3_bucket_name": "Bad_Bucket"}`, false, nil, nil,
			map[string]string{"s3_bucket_name": "lower-case"}},
		{"access key to role", s3c, `{"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/new"}`, true,
			map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/new"}, Credentials{}, nil},
		{"new role ARN in the stored method", iam, `{"s3_role_arn": "arn:aws:iam::123456789012:role/new"}`, true,
			map[string]any{"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/new"}, Credentials{}, nil},
		{"role to access key drops the ARN", iam, `{"s3_auth_method": "access_key", "s3_access_key_id": "AKIAIOSFODNN7NEWKEY1", "s3_secret_access_key": "s"}`, true,
			map[string]any{"s3_auth_method": "access_key", "s3_role_arn": nil},
			Credentials{"access_key_id": "AKIAIOSFODNN7NEWKEY1", "secret_access_key": "s"}, nil},
		{"keys on a role config: read as a create's, access_key", iam, `{"s3_access_key_id": "AKIAIOSFODNN7NEWKEY1", "s3_secret_access_key": "s"}`, true,
			map[string]any{"s3_auth_method": "access_key", "s3_role_arn": nil},
			Credentials{"access_key_id": "AKIAIOSFODNN7NEWKEY1", "secret_access_key": "s"}, nil},
		{"keys with the role method named", iam, `{"s3_auth_method": "iam_role", "s3_access_key_id": "AKIAIOSFODNN7NEWKEY1", "s3_secret_access_key": "s"}`, false, nil, nil,
			map[string]string{"s3_access_key_id": "iam_role", "s3_secret_access_key": "iam_role"}},
		{"the provider cannot change", s3c, `{"provider": "s3_compatible", "name": ""}`, false, nil, nil,
			map[string]string{"provider": "cannot be changed", "name": "blank"}},
		{"null provider", s3c, `{"provider": null}`, false, nil, nil, map[string]string{"provider": "null"}},
		{"another provider's fields", s3c, `{"gc_storage_bucket_name": "b", "s3_endpoint_url": "https://x.example.com"}`, false, nil, nil,
			map[string]string{"gc_storage_bucket_name": "does not apply", "s3_endpoint_url": "does not apply"}},
		{"service account to HMAC", gcs, `{"gc_storage_auth_method": "hmac", "gc_storage_hmac_access_id": "GOOG1EXAMPLEACCESSID12", "gc_storage_hmac_secret": "s"}`, true,
			map[string]any{"gc_storage_auth_method": "hmac", "gc_storage_bucket_name": "acme-datasets"},
			Credentials{"access_key_id": "GOOG1EXAMPLEACCESSID12", "secret_access_key": "s"}, nil},
		{"service account to impersonation", gcs, `{"gc_storage_auth_method": "impersonation", "gc_storage_service_account_email": "sa@p.iam.gserviceaccount.com"}`, true,
			map[string]any{"gc_storage_auth_method": "impersonation", "gc_storage_service_account_email": "sa@p.iam.gserviceaccount.com"}, Credentials{}, nil},
		{"a bad new key, as create says", gcs, `{"gc_storage_auth_json_content": "{}"}`, false, nil, nil,
			map[string]string{"gc_storage_auth_json_content": ""}},
		{"account key to SAS", az, `{"azure_sas_token": "` + sas + `"}`, true,
			map[string]any{"azure_account_name": "acmestorage", "azure_endpoint_url": "https://acmestorage.blob.core.windows.net/"},
			Credentials{"azure_sas_token": sas}, nil},
		{"both Azure credentials", az, `{"azure_sas_token": "` + sas + `", "azure_account_key": "` + azKey + `"}`, false, nil, nil,
			map[string]string{"azure_sas_token": "Not used with azure_auth_method \"account_key\""}},
		{"a service principal's new secret alone", azSP, `{"azure_client_secret": "new-secret"}`, true,
			map[string]any{"azure_auth_method": "service_principal", "azure_tenant_id": spTenant, "azure_client_id": spClient},
			Credentials{"azure_client_secret": "new-secret"}, nil},
		{"service principal to account key", azSP, `{"azure_account_key": "` + azKey + `"}`, true,
			map[string]any{"azure_auth_method": "account_key", "azure_tenant_id": nil, "azure_client_id": nil},
			Credentials{"azure_account_key": azKey}, nil},
		{"account key to service principal", az, `{"azure_tenant_id": "` + spTenant + `", "azure_client_id": "` + spClient + `", "azure_client_secret": "s"}`, true,
			map[string]any{"azure_auth_method": "service_principal", "azure_tenant_id": spTenant},
			Credentials{"azure_client_secret": "s"}, nil},
		{"impersonation to a service-account key", gcsImp, `{"gc_storage_auth_json_content": ` + jsonString(key) + `}`, true,
			map[string]any{"gc_storage_auth_method": "service_account", "gc_storage_service_account_email": nil},
			Credentials{"service_account_json": key}, nil},
		{"a new HMAC key in the stored method", gcsHMAC, `{"gc_storage_hmac_access_id": "GOOG1EXAMPLEACCESSID34", "gc_storage_hmac_secret": "t"}`, true,
			map[string]any{"gc_storage_auth_method": "hmac"},
			Credentials{"access_key_id": "GOOG1EXAMPLEACCESSID34", "secret_access_key": "t"}, nil},
		{"new container with the stored key", az, `{"azure_container_name": "other"}`, false,
			map[string]any{"azure_container_name": "other"}, nil, nil},
		{"the storage account cannot change", az, `{"azure_account_name": "otheraccount", "azure_account_key": "` + azKey + `"}`, false, nil, nil,
			map[string]string{"azure_account_name": "cannot be changed"}},
		{"the storage account sent back unchanged", az, `{"azure_account_name": "acmestorage", "azure_prefix": "p"}`, false,
			map[string]any{"azure_prefix": "p/"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePatchFor([]byte(tt.body), tt.c)
			if tt.errs != nil {
				wantFieldErrors(t, err, tt.errs)
				return
			}
			if err != nil {
				t.Fatalf("ParsePatchFor: %v", err)
			}
			if p.Rotates() != tt.rotate {
				t.Errorf("Rotates = %v, want %v", p.Rotates(), tt.rotate)
			}
			if (p.Settings == nil) != (tt.settings == nil) {
				t.Fatalf("Settings = %v, want set: %v", p.Settings, tt.settings != nil)
			}
			if p.Settings != nil {
				got := wire(tt.c, p.Settings)
				for f, v := range tt.settings {
					if got[f] != v {
						t.Errorf("%s = %v, want %v", f, got[f], v)
					}
				}
			}
			if tt.creds != nil || p.Credentials != nil {
				g, _ := json.Marshal(p.Credentials)
				w, _ := json.Marshal(tt.creds)
				if string(g) != string(w) {
					t.Errorf("credentials = %s, want %s", g, w)
				}
			}
			// The stored config is left alone.
			if tt.c.Settings == p.Settings {
				t.Error("the patch's settings are the stored config's own")
			}
		})
	}
}

// TestParsePatchForMatchesCreate: a PATCH of a config's own create fields
// gives the settings the create gave.
func TestParsePatchForMatchesCreate(t *testing.T) {
	for _, b := range [][]byte{
		body(t, map[string]any{"s3_bucket_prefix": "/a/b"}),
		body(t, iamRole(map[string]any{"s3_role_arn": "arn:aws:iam::123456789012:role/r"})),
		body(t, map[string]any{"provider": "s3_compatible", "s3_endpoint_url": "https://S3.example.com/", "s3_access_key_id": "k1k", "s3_use_path_style": false}),
		gcsBody(t, anyblobtest.ServiceAccountJSON(t, nil), nil),
		azureBody(t, randomBase64(t, 64), map[string]any{"azure_endpoint_url": "http://127.0.0.1:10000/acmestorage"}),
	} {
		c := stored(t, b)
		var fields map[string]any
		_ = json.Unmarshal(b, &fields)
		delete(fields, "name")
		patch, _ := json.Marshal(fields)
		p, err := ParsePatchFor(patch, c)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		// Without credentials (the role config) nothing is left to check.
		if p.Settings == nil && p.Rotates() || p.Settings != nil && !sameSettings(p.Settings, c.Settings) {
			t.Errorf("%s: settings %+v, want %+v", b, p.Settings, c.Settings)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
