package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Names the local bootstrap uses.
const (
	DefaultOrgSlug   = "default"
	DefaultAdminUser = "admin"
	AdminKeyFile     = "admin-api-key"
)

// Bootstrap prepares a fresh local installation: on the first start it
// creates the org "default", an admin user and an admin API key, and writes
// the key to dataDir/admin-api-key with mode 0600. Later starts find the org
// and change nothing. It returns the key when it made one, else "".
func Bootstrap(ctx context.Context, s store.Identities, dataDir string) (string, error) {
	_, err := s.GetOrgBySlug(ctx, DefaultOrgSlug)
	switch {
	case err == nil:
		return "", nil
	case !errors.Is(err, errcode.ErrNotFound):
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := CreateOrg(ctx, s, DefaultOrgSlug, "Default"); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	key, _, err := CreateAPIKey(ctx, s, DefaultOrgSlug, identity.RoleAdmin, DefaultAdminUser)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("bootstrap: write %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return "", fmt.Errorf("bootstrap: chmod %s: %w", path, err)
	}
	return key, nil
}
