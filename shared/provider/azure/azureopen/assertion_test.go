package azureopen_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/provider/azure/azureopen"
)

// TestFileAssertion checks that the token file is read at every call (so
// it may be rotated under a running process) and that a file without one
// JWT is refused without quoting it.
func TestFileAssertion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	a := azureopen.FileAssertion(path)
	if _, err := a(context.Background(), "api://AzureADTokenExchange"); err == nil {
		t.Fatal("a missing file gave a token")
	}
	for _, tok := range []string{"aaa.bbb.ccc", "ddd.eee.fff"} {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := a(context.Background(), "api://AzureADTokenExchange"); err != nil || got != tok {
			t.Errorf("token = %q, %v; want %q", got, err, tok)
		}
	}
	if err := os.WriteFile(path, []byte("not-a-jwt-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a(context.Background(), ""); err == nil || strings.Contains(err.Error(), "not-a-jwt-secret") {
		t.Errorf("a file without a JWT = %v, want an error that does not quote it", err)
	}
}
