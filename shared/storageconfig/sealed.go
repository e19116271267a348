package storageconfig

import (
	"context"
	"errors"
	"fmt"

	"github.com/bucketlink/bucketlink/shared/seal"
)

// OpenCredentials opens the sealed credentials of the stored config c with
// s (bound to c's org and uid) and decodes them (seal.OpenJSON: the
// plaintext is cleared, and a document that does not decode gives an
// error that never quotes it).
func OpenCredentials(ctx context.Context, s seal.Sealer, c *Config) (Credentials, error) {
	creds := Credentials{}
	switch err := seal.OpenJSON(ctx, s, c.Sealed, seal.Binding{OrgID: c.OrgID, ConfigUID: c.UID}, &creds); {
	case errors.Is(err, seal.ErrNotJSON):
		return nil, fmt.Errorf("open credentials of %s: not a credentials document", c.UID)
	case err != nil:
		return nil, fmt.Errorf("open credentials of %s: %w", c.UID, err)
	}
	return creds, nil
}
