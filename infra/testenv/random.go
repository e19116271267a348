package testenv

import (
	"crypto/rand"
	"testing"
)

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString returns n characters drawn uniformly from alphabet with
// crypto/rand. It panics only if the system's randomness fails.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

// randIndex returns a uniform index below n (n <= 256) by rejection sampling.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("testenv: crypto/rand: " + err.Error())
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// NewCredentials returns a fresh random access key ID (20 characters) and
// secret (40 characters). Nothing is registered anywhere; see MinIO.AddUser.
func NewCredentials(tb testing.TB) (accessKeyID, secretAccessKey string) {
	tb.Helper()
	return newCredentials()
}

func newCredentials() (accessKeyID, secretAccessKey string) {
	return "AK" + randomString(lowerDigits, 18), randomString(alnum, 40)
}

// BucketName returns a random valid bucket name starting with prefix (which
// should be short, lower case and end in a letter or digit).
func BucketName(tb testing.TB, prefix string) string {
	tb.Helper()
	return prefix + "-" + randomString(lowerDigits, 12)
}
