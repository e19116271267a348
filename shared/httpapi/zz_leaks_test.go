package httpapi_test

import (
	"strings"
	"testing"
	"time"
)

// TestNoSecretLeaks greps every response body and log line that the
// package's tests produced for every secret they used. It lives in the
// last file by name, so go test runs it after the others.
func TestNoSecretLeaks(t *testing.T) {
	// Make sure some traffic with secrets happened even when run alone.
	e := newEnv(t, 3*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk))
	e.do("POST", base, e.keys["acme/admin"], e.compatBody(bucket, ak, sk+"wrong"))
	leaks.Lock()
	defer leaks.Unlock()
	text := leaks.transcript.String()
	if len(text) == 0 || len(leaks.secrets) == 0 {
		t.Fatal("nothing recorded")
	}
	for _, s := range leaks.secrets {
		if strings.Contains(text, s) {
			t.Errorf("a secret (%d chars, starts %.4s…) appears in a response or log line", len(s), s)
		}
	}
}
