package anyblob_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/blobtest"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
	azurep "github.com/bucketlink/bucketlink/shared/provider/azure"
	gcsp "github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// noIO is a client whose every request fails the test: Open must not
// connect.
func noIO(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("Open made a request to %s", r.URL.Redacted())
		return nil, errors.New("no I/O allowed")
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func hmacConfig(bucket string) *storageconfig.Config {
	return &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: bucket, Auth: gcsp.AuthHMAC}}
}

// TestHMACConformance proves the gc_storage HMAC path (the S3 driver on
// Google's XML API) keeps the blob contract, through the operator override
// that sends it to MinIO: fake-gcs-server does not serve the XML API with
// HMAC signatures.
func TestHMACConformance(t *testing.T) {
	m := testenv.SharedMinIO(t)
	id, secret := anyblobtest.HMACAccessID(t), randomSecret(t)
	m.AddUser(t, id, secret, testenv.FullAccessPolicy)
	good := storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret}
	open := func(t *testing.T, endpoint, bucket string, creds storageconfig.Credentials) blob.Bucket {
		t.Helper()
		o := &anyblob.Opener{HTTPClient: &http.Client{}, GCSHMACEndpoint: endpoint, GCSHMACRegion: m.Region}
		b, err := o.Open(t.Context(), hmacConfig(bucket), creds)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if _, ok := b.(*s3blob.Bucket); !ok {
			t.Fatalf("Open gave a %T, want the S3 driver", b)
		}
		return b
	}
	existing := func(t *testing.T) string {
		name := testenv.BucketName(t, "hmac")
		m.CreateBucket(t, name)
		return name
	}
	blobtest.Run(t, blobtest.Harness{
		Bucket: func(t *testing.T) blob.Bucket { return open(t, m.Endpoint, existing(t), good) },
		MissingBucket: func(t *testing.T) blob.Bucket {
			return open(t, m.Endpoint, testenv.BucketName(t, "missing"), good)
		},
		WrongSecret: func(t *testing.T) blob.Bucket {
			return open(t, m.Endpoint, existing(t), storageconfig.Credentials{"access_key_id": id, "secret_access_key": randomSecret(t)})
		},
		UnknownKey: func(t *testing.T) blob.Bucket {
			return open(t, m.Endpoint, existing(t),
				storageconfig.Credentials{"access_key_id": anyblobtest.HMACAccessID(t), "secret_access_key": secret})
		},
		Hanging: func(t *testing.T) blob.Bucket { return open(t, testenv.HangingServer(t), "hanging", good) },
	})
}

func randomSecret(t *testing.T) string {
	_, s := testenv.NewCredentials(t)
	return s
}

// TestOpenChoosesDriver proves each provider gets its driver, without any
// network I/O.
func TestOpenChoosesDriver(t *testing.T) {
	sa := anyblobtest.ServiceAccountJSON(t, nil)
	account, key := testenv.NewAzureAccount(t)
	tests := []struct {
		name  string
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		want  string // %T of the driver
	}{
		{name: "aws_s3", cfg: &storageconfig.Config{Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: "b", Region: "us-east-1"}},
			creds: storageconfig.Credentials{"access_key_id": "AKID", "secret_access_key": "secret"}, want: "*s3blob.Bucket"},
		{name: "s3_compatible", cfg: &storageconfig.Config{Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: "b", Endpoint: "https://s3.example.com"}},
			creds: storageconfig.Credentials{"access_key_id": "AKID", "secret_access_key": "secret"}, want: "*s3blob.Bucket"},
		{name: "gc_storage service account", cfg: &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: "b", Auth: gcsp.AuthServiceAccount}},
			creds: storageconfig.Credentials{"service_account_json": sa}, want: "*gcsblob.Bucket"},
		{name: "gc_storage hmac", cfg: hmacConfig("b"),
			creds: storageconfig.Credentials{"access_key_id": "GOOG1EXAMPLE", "secret_access_key": "secret"}, want: "*s3blob.Bucket"},
		{name: "azure_blob key", cfg: &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: account, Container: "data", Endpoint: azureblob.Endpoint(account, "")}},
			creds: storageconfig.Credentials{"azure_account_key": key}, want: "*azureblob.Bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &anyblob.Opener{HTTPClient: noIO(t)}
			b, err := o.Open(t.Context(), tt.cfg, tt.creds)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := typeName(b); got != tt.want {
				t.Errorf("driver = %s, want %s", got, tt.want)
			}
		})
	}
}

func typeName(b blob.Bucket) string {
	switch b.(type) {
	case *s3blob.Bucket:
		return "*s3blob.Bucket"
	case *gcsblob.Bucket:
		return "*gcsblob.Bucket"
	case *azureblob.Bucket:
		return "*azureblob.Bucket"
	}
	return "other"
}

// TestOpenErrors proves credentials a driver cannot use carry the code
// that names their field, and that nothing connects.
func TestOpenErrors(t *testing.T) {
	account, _ := testenv.NewAzureAccount(t)
	azure := &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: account, Container: "data", Endpoint: azureblob.Endpoint(account, "")}}
	gcs := &storageconfig.Config{Provider: gcsp.Name, Settings: &gcsp.Settings{BucketName: "b"}}
	tests := []struct {
		name  string
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		code  blob.Code
		is    error
	}{
		{name: "unsupported provider", cfg: &storageconfig.Config{Provider: "dropbox"}, code: blob.Unknown, is: anyblob.ErrUnsupportedProvider},
		{name: "invalid service account", cfg: gcs, creds: storageconfig.Credentials{"service_account_json": `{"type":"authorized_user"}`},
			code: blob.InvalidAccessKey, is: gcsblob.ErrInvalidServiceAccount},
		{name: "no service account", cfg: gcs, code: blob.InvalidAccessKey, is: gcsblob.ErrNoServiceAccount},
		{name: "hmac without secret", cfg: hmacConfig("b"), creds: storageconfig.Credentials{"access_key_id": "GOOG1EXAMPLE"},
			code: blob.InvalidAccessKey, is: s3blob.ErrNoCredentials},
		{name: "azure key not base64", cfg: azure, creds: storageconfig.Credentials{"azure_account_key": "not base64!"},
			code: blob.SignatureMismatch, is: azureblob.ErrBadAccountKey},
		{name: "azure no credentials", cfg: azure, code: blob.InvalidAccessKey, is: azureblob.ErrNoCredentials},
		{name: "azure malformed sas", cfg: azure, creds: storageconfig.Credentials{"azure_sas_token": "sv=2022-11-02&sp=r"},
			code: blob.Unknown, is: azureblob.ErrSASMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &anyblob.Opener{HTTPClient: noIO(t)}
			_, err := o.Open(t.Context(), tt.cfg, tt.creds)
			if !errors.Is(err, tt.is) {
				t.Fatalf("Open error = %v, want one matching %v", err, tt.is)
			}
			if got := blob.CodeOf(err); got != tt.code {
				t.Errorf("CodeOf = %s, want %s", got, tt.code)
			}
		})
	}
}

// TestAzureEndpointOverride proves the test-only override redirects only
// configs on the derived endpoint, to Azurite's path-style address.
func TestAzureEndpointOverride(t *testing.T) {
	a := testenv.SharedAzurite(t)
	c := testenv.ContainerName(t, "override")
	a.CreateContainer(t, c)
	a.PutBlob(t, c, "data/x.json", []byte("{}"))
	o := &anyblob.Opener{HTTPClient: &http.Client{}, AzureBlobEndpoint: a.URL}
	derived := &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: a.AccountName, Container: c, Endpoint: azureblob.Endpoint(a.AccountName, "")}}
	b, err := o.Open(t.Context(), derived, storageconfig.Credentials{"azure_account_key": a.AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := b.List(t.Context(), "data/", 10)
	if err != nil || len(objs) != 1 || objs[0].Key != "data/x.json" {
		t.Fatalf("List through the override = %v, %v", objs, err)
	}
	// A config with its own endpoint keeps it: here one that refuses.
	own := *derived
	ownSettings := *derived.Settings.(*azurep.Settings)
	own.Settings = &ownSettings
	own.Settings.(*azurep.Settings).Endpoint = azureblob.Endpoint(a.AccountName, testenv.RefusedEndpoint(t)+"/"+a.AccountName)
	b, err = o.Open(t.Context(), &own, storageconfig.Credentials{"azure_account_key": a.AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.List(t.Context(), "", 1); blob.CodeOf(err) != blob.Unreachable {
		t.Errorf("List at the config's own endpoint = %v, want Unreachable", err)
	}
	bad := &anyblob.Opener{HTTPClient: &http.Client{}, AzureBlobEndpoint: "127.0.0.1:10000"}
	if _, err := bad.Open(t.Context(), derived, storageconfig.Credentials{"azure_account_key": a.AccountKey}); !errors.Is(err, anyblob.ErrBadOverride) ||
		strings.Contains(err.Error(), a.AccountKey) {
		t.Errorf("bad override: %v", err)
	}
}
