// Package anyblobtest makes the credentials that tests of the providers
// anyblob opens need, at run time: no key material is ever committed.
package anyblobtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
)

// upperDigits is the alphabet of Google HMAC access IDs after "GOOG".
const upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// rsaKey is one RSA key per test binary: generating 2048-bit keys is slow
// under the race detector.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// ServiceAccountJSON returns a service-account JSON key shaped like the
// ones Google issues (type service_account, project_id, client_email, a
// PKCS #8 RSA private_key), with the test binary's RSA key and a random
// account name, after edit (if not nil) changed its fields. Google would
// not accept it; emulators do not check it.
func ServiceAccountJSON(tb testing.TB, edit func(map[string]any)) string {
	tb.Helper()
	k, err := rsaKey()
	if err != nil {
		tb.Fatalf("anyblobtest: generate RSA key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatalf("anyblobtest: marshal key: %v", err)
	}
	id := make([]byte, 10)
	_, _ = rand.Read(id)
	name := "sa-" + hex.EncodeToString(id[:8])
	f := map[string]any{
		"type":           "service_account",
		"project_id":     "bucketlink-test",
		"private_key_id": hex.EncodeToString(id) + hex.EncodeToString(id),
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   name + "@bucketlink-test.iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      "https://oauth2.googleapis.com/token",
	}
	if edit != nil {
		edit(f)
	}
	b, err := json.Marshal(f)
	if err != nil {
		tb.Fatalf("anyblobtest: marshal service account: %v", err)
	}
	return string(b)
}

// PrivateKeyLines returns the base64 lines of the PEM private key of a
// key from ServiceAccountJSON: strings a leaked key would show even
// JSON-escaped, for leak checks.
func PrivateKeyLines(tb testing.TB, serviceAccountJSON string) []string {
	tb.Helper()
	var sa struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(serviceAccountJSON), &sa); err != nil {
		tb.Fatalf("anyblobtest: service account: %v", err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		tb.Fatal("anyblobtest: service account: no PEM private key")
	}
	var lines []string
	for _, l := range strings.Split(string(pem.EncodeToMemory(block)), "\n") {
		if len(l) >= 32 && l[0] != '-' {
			lines = append(lines, l)
		}
	}
	return lines
}

// HMACAccessID returns a random access ID shaped like a Google HMAC key's
// of a service account: "GOOG1E" and 55 upper-case letters and digits.
func HMACAccessID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 55)
	for i := range b {
		b[i] = upperDigits[randIndex(len(upperDigits))]
	}
	return "GOOG1E" + string(b)
}

// randIndex returns a uniform index below n (n <= 256).
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("anyblobtest: crypto/rand: " + err.Error())
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
