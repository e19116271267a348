package bucketverify_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/errcode"
	azurep "github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

const uid = "3f0c9a2e-8d5b-4c61-9a4e-2b7f1d0c6e58"

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name    string
		body    map[string]any
		want    verification.Request
		number  int64 // the integer bucketId
		creds   storageconfig.Credentials
		wantErr string
	}{
		{
			name: "s3 by default, region defaulted, prefix normalised, AWS endpoint ignored",
			body: map[string]any{"accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": secret, "bucket": "acme-data",
				"prefix": "/annotations", "endpoint": "https://s3.us-east-1.amazonaws.com"},
			want:  verification.Request{Provider: "s3", AccessKey: "AKIAIOSFODNN7EXAMPLE", Bucket: "acme-data", Region: "us-east-1", Prefix: "annotations/"},
			creds: storageconfig.Credentials{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": secret},
		},
		{
			name: "other, endpoint normalised",
			body: map[string]any{"storageProvider": "other", "accessKey": "minio", "secretKey": secret, "bucket": "data",
				"endpoint": "HTTPS://MinIO.Example.com/", "region": "auto"},
			want:  verification.Request{Provider: "other", AccessKey: "minio", Bucket: "data", Endpoint: "https://minio.example.com", Region: "auto"},
			creds: storageconfig.Credentials{"access_key_id": "minio", "secret_access_key": secret},
		},
		{
			name: "google with HMAC, region ignored",
			body: map[string]any{"storageProvider": "google", "accessKey": "GOOG1EEXAMPLEACCESSID", "secretKey": secret,
				"bucket": "acme-gcs", "region": "europe-west1"},
			want:  verification.Request{Provider: "google", AccessKey: "GOOG1EEXAMPLEACCESSID", Bucket: "acme-gcs"},
			creds: storageconfig.Credentials{"access_key_id": "GOOG1EEXAMPLEACCESSID", "secret_access_key": secret},
		},
		{
			name:  "azure: account name and key",
			body:  map[string]any{"storageProvider": "azure", "accessKey": "acmestore", "secretKey": "a2V5", "bucket": "datasets"},
			want:  verification.Request{Provider: "azure", AccessKey: "acmestore", Bucket: "datasets"},
			creds: storageconfig.Credentials{"azure_account_key": "a2V5"},
		},
		{
			name: "stored credentials: only what the request gives",
			body: map[string]any{"bucketId": uid, "prefix": "x", "accessKey": nil},
			want: verification.Request{BucketID: uid, Prefix: "x/"},
		},
		{name: "not an object", body: nil, wantErr: "The request body must be a JSON object."},
		{name: "unknown field", body: map[string]any{"bucketId": uid, "secret": "x"}, wantErr: "secret: Unknown field"},
		{
			name:   "integer bucketId, as the official client sends it",
			body:   map[string]any{"bucketId": 7, "prefix": "x"},
			want:   verification.Request{Prefix: "x/"},
			number: 7,
		},
		{
			name:   "integer bucketId as a string",
			body:   map[string]any{"bucketId": "42"},
			number: 42,
		},
		{name: "negative bucketId", body: map[string]any{"bucketId": -3}, wantErr: "bucketId: A bucketId is a positive integer"},
		{name: "huge bucketId", body: map[string]any{"bucketId": 1e30}, wantErr: "bucketId: A bucketId is the id of a storage config"},
		{name: "edgeimpulse provider", body: map[string]any{"storageProvider": "edgeimpulse", "bucketId": 7},
			wantErr: "storageProvider: \"edgeimpulse\" is not supported by this service; it supports \"s3\" (the default), \"google\", \"azure\" and \"other\""},
		{name: "neither secret nor bucketId", body: map[string]any{"bucket": "b"}, wantErr: "secretKey: This field is required"},
		{name: "bad provider", body: map[string]any{"storageProvider": "S3", "bucketId": uid}, wantErr: "storageProvider: \"S3\" is not supported"},
		{
			name:    "s3 fields in the API's names",
			body:    map[string]any{"accessKey": "lower", "secretKey": secret, "bucket": "A", "region": "mars"},
			wantErr: "accessKey: An AWS access key ID is 16 to 128 upper-case letters and digits",
		},
		{
			name:    "secret never echoed",
			body:    map[string]any{"accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": "has space " + secret, "bucket": "acme-data"},
			wantErr: "secretKey: A secret access key is at most 1024 printable characters without spaces.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte("[]")
			if tt.body != nil {
				raw = mustJSON(t, tt.body)
			}
			p, err := bucketverify.Parse(raw)
			if tt.wantErr != "" {
				msg := bucketverify.Message(err)
				if err == nil || !strings.Contains(msg, tt.wantErr) || strings.Contains(msg, secret) {
					t.Fatalf("Parse = %v (%q), want an error with %q", p, msg, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(bucketverify.Message(err))
			}
			if p.Request != tt.want || !maps.Equal(p.Credentials, tt.creds) || p.BucketNumber != tt.number {
				t.Errorf("Parse = %+v / %+v / #%d, want %+v / %+v / #%d", p.Request, p.Credentials, p.BucketNumber, tt.want, tt.creds, tt.number)
			}
		})
	}
}

// TestParseAndTargetAgree: the worker rebuilds the config from the
// record's normalised request, and gets what the API validated.
func TestParseAndTargetAgree(t *testing.T) {
	raw := mustJSON(t, map[string]any{"storageProvider": "other", "accessKey": "minio", "secretKey": "s3cr3t-value",
		"bucket": "data", "endpoint": "http://127.0.0.1:9000/", "prefix": "a/b"})
	p, err := bucketverify.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, creds, err := bucketverify.Target(p.Request, p.Credentials)
	if err != nil {
		t.Fatal(bucketverify.Message(err))
	}
	if c.Provider != s3.NameCompatible || c.Settings.(*s3.Settings).Endpoint != "http://127.0.0.1:9000" || c.Settings.(*s3.Settings).KeyPrefix != "a/b/" ||
		c.Settings.(*s3.Settings).BucketName != "data" || !maps.Equal(creds, p.Credentials) {
		t.Errorf("Target = %+v", c)
	}
	// Same request, spelt differently: the same record.
	again, _ := bucketverify.Parse(mustJSON(t, map[string]any{"storageProvider": "other", "accessKey": "minio", "secretKey": "s3cr3t-value",
		"bucket": "data", "endpoint": "http://127.0.0.1:9000", "prefix": "/a/b/"}))
	k := []byte("0123456789abcdef0123456789abcdef")
	if verification.RecordKey(k, 1, p.Request, p.SecretKey) != verification.RecordKey(k, 1, again.Request, again.SecretKey) {
		t.Error("equal requests give different record keys")
	}
}

func TestStoredTarget(t *testing.T) {
	compat := &storageconfig.Config{UID: uid, OrgID: 1, Provider: s3.NameCompatible,
		Sealed: []byte("x"), Settings: &s3.Settings{Compatible: true, BucketName: "data", KeyPrefix: "old/", Region: "eu-1", Endpoint: "https://minio.example.com", Auth: s3.AuthAccessKey}}
	azure := &storageconfig.Config{UID: uid, OrgID: 1, Provider: azurep.Name, Settings: &azurep.Settings{Account: "acmestore", Container: "datasets", Endpoint: "https://acmestore.blob.core.windows.net/"}}
	const admin = "Only an admin (a role that may edit the config) may verify its stored credentials there"
	member, replace := bucketverify.ReachStored, bucketverify.ReachReplace
	tests := []struct {
		name    string
		stored  *storageconfig.Config
		reach   bucketverify.Reach
		req     verification.Request
		check   func(*storageconfig.Config) bool
		wantErr string
	}{
		{"stored as is", compat, member, verification.Request{BucketID: uid},
			func(c *storageconfig.Config) bool {
				return c.Settings.(*s3.Settings).KeyPrefix == "old/" && c.Sealed == nil
			}, ""},
		{"member: the config's own values, given", compat, member, verification.Request{BucketID: uid, Provider: "other", Bucket: "data",
			Region: "eu-1", Endpoint: "https://MINIO.example.com/", Prefix: "old/"},
			func(c *storageconfig.Config) bool {
				return c.Settings.(*s3.Settings).BucketName == "data" && c.Settings.(*s3.Settings).KeyPrefix == "old/"
			}, ""},
		{"member: a narrower prefix", compat, member, verification.Request{BucketID: uid, Prefix: "old/train/"},
			func(c *storageconfig.Config) bool { return c.Settings.(*s3.Settings).KeyPrefix == "old/train/" }, ""},
		{"member: another bucket", compat, member, verification.Request{BucketID: uid, Bucket: "other-data"}, nil,
			"bucket: Is not the bucket of the storage config bucketId names. " + admin},
		{"member: a wider prefix", compat, member, verification.Request{BucketID: uid, Prefix: "new/"}, nil,
			"prefix: Must lie inside the storage config's prefix \"old/\""},
		{"member: a prefix that only starts like the config's", compat, member, verification.Request{BucketID: uid, Prefix: "older"}, nil,
			"prefix: Must lie inside"},
		{"member: another region", compat, member, verification.Request{BucketID: uid, Region: "us-east-1"}, nil,
			"region: Is not the region of the storage config bucketId names. " + admin},
		{"member: another endpoint", compat, member, verification.Request{BucketID: uid, Endpoint: "https://evil.example.com"}, nil,
			"endpoint: Is not the endpoint of the storage config bucketId names. " + admin},
		{"admin: bucket, prefix, region and endpoint replaced", compat, replace, verification.Request{BucketID: uid, Provider: "other",
			Bucket: "other-data", Prefix: "new/", Region: "us-east-1", Endpoint: "https://S3.Example.com/"},
			func(c *storageconfig.Config) bool {
				return c.Settings.(*s3.Settings).BucketName == "other-data" && c.Settings.(*s3.Settings).KeyPrefix == "new/" && c.Settings.(*s3.Settings).Region == "us-east-1" &&
					c.Settings.(*s3.Settings).Endpoint == "https://s3.example.com"
			}, ""},
		{"admin: a bad endpoint", compat, replace, verification.Request{BucketID: uid, Endpoint: "ftp://x"}, nil, "endpoint: The endpoint must start with https://"},
		{"admin: a bad bucket", compat, replace, verification.Request{BucketID: uid, Bucket: "UPPER"}, nil, "bucket: Bucket names can consist only of"},
		{"admin: another provider", compat, replace, verification.Request{BucketID: uid, Provider: "s3"}, nil,
			"storageProvider: The storage config bucketId names is of storageProvider \"other\"."},
		{"admin: another Azure endpoint, which no one may", azure, replace, verification.Request{BucketID: uid, Endpoint: "https://evil.example.com"}, nil,
			"endpoint: Is not the endpoint of the storage config bucketId names. Leave it out"},
		{"member: another Azure endpoint", azure, member, verification.Request{BucketID: uid, Endpoint: "https://evil.example.com"}, nil,
			"endpoint: Is not the endpoint of the storage config bucketId names. Leave it out"},
		{"admin: another container", azure, replace, verification.Request{BucketID: uid, Bucket: "other"},
			func(c *storageconfig.Config) bool { return c.Settings.(*azurep.Settings).Container == "other" }, ""},
		{"azure account", azure, replace, verification.Request{BucketID: uid, AccessKey: "someoneelse"}, nil, "accessKey: Is not the storage account"},
		{"azure endpoint", azure, member, verification.Request{BucketID: uid, AccessKey: "acmestore", Endpoint: "https://acmestore.blob.core.windows.net"},
			func(c *storageconfig.Config) bool { return c.Settings.(*azurep.Settings).Container == "datasets" }, ""},
		{"azure region is ignored", azure, member, verification.Request{BucketID: uid, Region: "westeurope"},
			func(c *storageconfig.Config) bool { return c.Settings.(*azurep.Settings).Container == "datasets" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := bucketverify.StoredTarget(tt.req, tt.stored, tt.reach)
			if tt.wantErr != "" {
				if !strings.Contains(bucketverify.Message(err), tt.wantErr) {
					t.Fatalf("err = %q, want %q", bucketverify.Message(err), tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("StoredTarget = %+v, %v", c, err)
			}
		})
	}
	creds := storageconfig.Credentials{"access_key_id": "minio", "secret_access_key": "x"}
	if err := bucketverify.CheckAccessKey(verification.Request{AccessKey: "minio"}, compat, creds); err != nil {
		t.Error(err)
	}
	if err := bucketverify.CheckAccessKey(verification.Request{AccessKey: "other"}, compat, creds); err == nil {
		t.Error("another access key passed")
	}
}

// TestScope: a member's request on stored credentials gets the config as
// stored or a narrower prefix, and anything beyond fails naming the field
// and who may; an admin's may go beyond (ReachReplace); the
// existing-bucket verify stays inside the config's prefix for everyone.
func TestScope(t *testing.T) {
	stored := &storageconfig.Config{UID: uid, OrgID: 1, Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: "data", KeyPrefix: "team/", Region: "us-west-2", Auth: s3.AuthAccessKey}}
	parse := func(body map[string]any) bucketverify.Parsed {
		t.Helper()
		p, err := bucketverify.Parse(mustJSON(t, body))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		parsed    bucketverify.Parsed
		mayEdit   bool
		wantErr   string
		wantReach bucketverify.Reach
		prefix    string
	}{
		{"member, as stored", parse(map[string]any{"bucketId": uid}), false, "", bucketverify.ReachStored, "team/"},
		{"member narrows", parse(map[string]any{"bucketId": uid, "prefix": "team/a"}), false, "", bucketverify.ReachStored, "team/a/"},
		{"member widens the prefix", parse(map[string]any{"bucketId": uid, "prefix": "other"}), false, "prefix: Must lie inside the storage config's prefix \"team/\"", 0, ""},
		{"member, another bucket and region", parse(map[string]any{"bucketId": uid, "bucket": "elsewhere", "region": "eu-west-1"}), false,
			"bucket: Is not the bucket of the storage config bucketId names. Only an admin", 0, ""},
		{"admin, as stored", parse(map[string]any{"bucketId": uid}), true, "", bucketverify.ReachStored, "team/"},
		{"admin, another bucket", parse(map[string]any{"bucketId": uid, "bucket": "elsewhere", "prefix": "x"}), true, "", bucketverify.ReachReplace, "x/"},
		{"with a secret, anything", parse(map[string]any{"bucketId": uid, "accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": "s", "bucket": "elsewhere"}), false,
			"", bucketverify.ReachStored, ""},
	}
	existing, err := bucketverify.ParseExisting(uid, []byte(`{"prefix":"other"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name      string
		parsed    bucketverify.Parsed
		mayEdit   bool
		wantErr   string
		wantReach bucketverify.Reach
		prefix    string
	}{"existing-bucket verify outside, even for an admin", existing, true, "prefix: Must lie inside", 0, ""})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.parsed
			err := p.Scope(stored, tt.mayEdit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(bucketverify.Message(err), tt.wantErr) {
					t.Fatalf("Scope = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || p.Reach != tt.wantReach || (tt.prefix != "" && p.Request.Prefix != tt.prefix) {
				t.Fatalf("Scope = %v; Reach %v, prefix %q; want nil, %v, %q", err, p.Reach, p.Request.Prefix, tt.wantReach, tt.prefix)
			}
		})
	}
}

func TestConnectionError(t *testing.T) {
	fe := errcode.FieldErrors{
		"s3_secret_access_key": {"The secret access key does not match the access key ID."},
		"non_field_errors":     {"The probe object may have been left."},
		"s3_bucket_region":     {"The bucket is in region eu-west-1; set s3_bucket_region to eu-west-1."},
	}
	got := bucketverify.ConnectionError(fe)
	want := "secretKey: The secret access key does not match the access key ID. " +
		"region: The bucket is in region eu-west-1; set region to eu-west-1. The probe object may have been left."
	if got != want {
		t.Errorf("ConnectionError =\n%q\nwant\n%q", got, want)
	}
}

func TestResponseOf(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	r := verification.NewRecord(now, "k", 1, verification.Request{Provider: "azure"}, nil, 0)
	secret := []byte("0123456789abcdef0123456789abcdef")
	if err := r.SealSignedURLTo(secret); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rec  verification.Record
		at   time.Time
		want string
	}{
		{"connecting", *r, now, `{"success":true,"connectionStatus":"connecting","connectionStatusSince":"2026-11-25T09:00:00Z"}`},
		{"past its deadline", *r, now.Add(2 * time.Minute),
			`{"success":true,"connectionStatus":"error","connectionError":"verification timed out","connectionStatusSince":"2026-11-25T09:01:00Z"}`},
		{"connected, empty bucket", func() verification.Record {
			c := *r
			_ = c.Complete(now.Add(time.Second), verification.RecordResult{SignedURL: "https://x/y", Endpoint: "https://a.blob.core.windows.net/"}, nil)
			return c
		}(), now.Add(time.Second),
			`{"success":true,"connectionStatus":"connected","connectionStatusSince":"2026-11-25T09:00:01Z","files":[],"hasInfoLabelsFile":false,"signedUrl":"https://x/y","endpoint":"https://a.blob.core.windows.net/"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As the handler answers: the view, with the signed URL opened.
			view := tt.rec.View(tt.at)
			var err error
			if view.Result.SignedURL, err = tt.rec.OpenSignedURL(secret); err != nil {
				t.Fatal(err)
			}
			got := string(mustJSON(t, bucketverify.ResponseOf(view)))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if got := string(mustJSON(t, bucketverify.Failure("bucket: x"))); got != `{"success":false,"error":"bucket: x"}` {
		t.Errorf("Failure = %s", got)
	}
}
