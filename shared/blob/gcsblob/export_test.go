package gcsblob

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"
)

// testKey is one RSA key generated per test binary: generating 2048-bit
// keys is slow under -race. No key material is committed.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// RSAKey returns the test binary's RSA key.
func RSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := testKey()
	if err != nil {
		tb.Fatalf("generate RSA key: %v", err)
	}
	return k
}

// ServiceAccountFields returns the fields of a service-account JSON key
// as Google issues it, with the test key (PKCS #8 PEM) and a random
// account name.
func ServiceAccountFields(tb testing.TB) map[string]any {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(RSAKey(tb))
	if err != nil {
		tb.Fatalf("marshal key: %v", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	name := "sa-" + hex.EncodeToString(id)
	return map[string]any{
		"type":                        "service_account",
		"project_id":                  "bucketlink-test",
		"private_key_id":              hex.EncodeToString(id) + hex.EncodeToString(id),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                name + "@bucketlink-test.iam.gserviceaccount.com",
		"client_id":                   "1234567890",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   GoogleTokenURL,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}
}

// ServiceAccountJSON returns a service-account JSON key built from
// ServiceAccountFields, after edit (if not nil) changed them.
func ServiceAccountJSON(tb testing.TB, edit func(map[string]any)) string {
	tb.Helper()
	f := ServiceAccountFields(tb)
	if edit != nil {
		edit(f)
	}
	b, err := json.Marshal(f)
	if err != nil {
		tb.Fatalf("marshal service account: %v", err)
	}
	return string(b)
}
