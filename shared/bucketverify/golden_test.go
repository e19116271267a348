package bucketverify_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// storedOf builds a stored config the way the storage-configs API does,
// from a create body, so that the golden file does not depend on how a
// config holds its fields.
func storedOf(t *testing.T, body map[string]any) *storageconfig.Config {
	t.Helper()
	c, _, err := storageconfig.ParseCreate(mustJSON(t, body))
	if err != nil {
		t.Fatalf("create %v: %v", body, err)
	}
	c.UID, c.OrgID = uid, 1
	return c
}

// TestGolden holds the bucket-verify API's messages and mappings, byte
// for byte, for every storageProvider and every provider's stored config:
// Parse (the error, or the request and the config it verifies), StoredTarget
// at both reaches, CheckAccessKey and ConnectionError of every
// storage-config field. Compared with testdata/golden.txt.
func TestGolden(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	var out bytes.Buffer
	show := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "### %s\n%s\n\n", what, b)
	}
	bodies := []map[string]any{
		{"accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": secret, "bucket": "acme-data", "prefix": "/a"},
		{"accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": secret, "bucket": "acme-data", "region": "eu-west-1", "endpoint": "https://minio.example.com"},
		{"accessKey": "short", "secretKey": secret, "bucket": "A", "region": "x", "prefix": "a//b"},
		{"storageProvider": "other", "accessKey": "minio", "secretKey": secret, "bucket": "data", "endpoint": "HTTPS://MinIO.Example.com/", "region": "auto"},
		{"storageProvider": "other", "accessKey": "minio", "secretKey": secret, "bucket": "data"},
		{"storageProvider": "other", "accessKey": "minio", "secretKey": secret, "bucket": "data", "endpoint": "ftp://x/y"},
		{"storageProvider": "google", "accessKey": "GOOG1EEXAMPLEACCESSID", "secretKey": secret, "bucket": "acme-gcs", "region": "x"},
		{"storageProvider": "google", "accessKey": "AKIA", "secretKey": secret, "bucket": "goog-x", "endpoint": "https://s3.amazonaws.com"},
		{"storageProvider": "azure", "accessKey": "acmestore", "secretKey": "a2V5", "bucket": "datasets", "prefix": "p"},
		{"storageProvider": "azure", "accessKey": "A!", "secretKey": "not base64!", "bucket": "--", "endpoint": "ftp://x"},
		{"storageProvider": "azure", "accessKey": "acmestore", "secretKey": "a2V5", "bucket": "datasets", "endpoint": "https://acmestore.blob.core.chinacloudapi.cn/"},
		{"storageProvider": "huggingface", "secretKey": secret, "bucket": "x"},
		{"bucket": "x"},
	}
	for i, b := range bodies {
		p, err := bucketverify.Parse(mustJSON(t, b))
		if err != nil {
			show(fmt.Sprintf("parse %d error", i), bucketverify.Message(err))
			continue
		}
		c, _, err := bucketverify.Target(p.Request, p.Credentials)
		if err != nil {
			show(fmt.Sprintf("parse %d target error", i), bucketverify.Message(err))
			continue
		}
		show(fmt.Sprintf("parse %d", i), map[string]any{"request": p.Request, "config": storageconfig.ToResponse(c)})
	}
	stored := map[string]map[string]any{
		"aws_s3": {"name": "n", "provider": "aws_s3", "s3_bucket_name": "acme-data", "s3_bucket_region": "us-west-2",
			"s3_bucket_prefix": "data/", "s3_access_key_id": "AKIAIOSFODNN7EXAMPLE", "s3_secret_access_key": secret},
		"aws_s3 iam_role": {"name": "n", "provider": "aws_s3", "s3_bucket_name": "acme-data", "s3_bucket_region": "us-west-2",
			"s3_auth_method": "iam_role", "s3_role_arn": "arn:aws:iam::123456789012:role/r"},
		"s3_compatible": {"name": "n", "provider": "s3_compatible", "s3_bucket_name": "data", "s3_endpoint_url": "https://minio.example.com",
			"s3_bucket_prefix": "data/", "s3_access_key_id": "minio", "s3_secret_access_key": secret},
		"gc_storage": {"name": "n", "provider": "gc_storage", "gc_storage_bucket_name": "acme-gcs", "gc_storage_prefix": "data",
			"gc_storage_auth_method": "hmac", "gc_storage_hmac_access_id": "GOOG1EEXAMPLEACCESSID", "gc_storage_hmac_secret": secret},
		"azure_blob": {"name": "n", "provider": "azure_blob", "azure_account_name": "acmestore", "azure_container_name": "datasets",
			"azure_prefix": "data", "azure_account_key": "a2V5"},
	}
	requests := []verification.Request{
		{BucketID: uid},
		{BucketID: uid, Prefix: "data/train/"},
		{BucketID: uid, Bucket: "other-bucket", Prefix: "elsewhere/", Region: "eu-west-1"},
		{BucketID: uid, Endpoint: "https://other.example.com"},
		{BucketID: uid, Provider: "azure", AccessKey: "someoneelse"},
		{BucketID: uid, Bucket: "Bad_Name", Prefix: "a//b"},
	}
	for _, name := range []string{"aws_s3", "aws_s3 iam_role", "s3_compatible", "gc_storage", "azure_blob"} {
		c := storedOf(t, stored[name])
		for i, req := range requests {
			for _, reach := range []bucketverify.Reach{bucketverify.ReachStored, bucketverify.ReachReplace} {
				what := fmt.Sprintf("stored %s request %d reach %d", name, i, reach)
				got, err := bucketverify.StoredTarget(req, c, reach)
				if err != nil {
					show(what+" error", bucketverify.Message(err))
				} else {
					show(what, storageconfig.ToResponse(got))
				}
			}
		}
		_, creds, _ := storageconfig.ParseCreate(mustJSON(t, stored[name]))
		for _, ak := range []string{"AKIAIOSFODNN7EXAMPLE", "acmestore", "GOOG1EEXAMPLEACCESSID", "minio"} {
			err := bucketverify.CheckAccessKey(verification.Request{AccessKey: ak}, c, creds)
			show(fmt.Sprintf("stored %s accessKey %s", name, ak), bucketverify.Message(err))
		}
	}
	fields := []string{"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_access_key_id", "s3_secret_access_key",
		"s3_is_accelerated", "s3_cloudfront_domain", "s3_auth_method", "s3_role_arn", "s3_endpoint_url", "s3_use_path_style",
		"gc_storage_bucket_name", "gc_storage_prefix", "gc_storage_auth_json_content", "gc_storage_auth_method",
		"gc_storage_hmac_access_id", "gc_storage_hmac_secret", "azure_account_name", "azure_container_name",
		"azure_prefix", "azure_account_key", "azure_sas_token", "azure_endpoint_url", errcode.NonField}
	for _, f := range fields {
		fe := errcode.FieldErrors{f: {"Check " + f + " with provider aws_s3 and provider s3_compatible."}}
		show("connectionError "+f, bucketverify.ConnectionError(fe))
	}
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(want, out.Bytes()) {
		wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(out.Bytes(), []byte("\n"))
		for i := 0; i < max(len(wl), len(gl)); i++ {
			var w, g []byte
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if !bytes.Equal(w, g) {
				t.Errorf("line %d:\n want %s\n got  %s", i+1, w, g)
			}
		}
	}
}
