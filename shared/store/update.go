package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// ConfigUpdater is the part of Configs that UpdateConfigWith uses.
type ConfigUpdater interface {
	GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error)
	UpdateConfig(ctx context.Context, c *storageconfig.Config) error
}

// UpdateConfigWith is the optimistic update of a stored config: it applies
// change to c and writes c with UpdateConfig (conditional on its Version);
// when another writer came first (errcode.ErrConflict), it rereads the
// config into c and applies change again, at most attempts writes in all.
// change reports whether there is anything to write; when it says no, c
// is left as read and nothing is written. On return c holds what was
// written or last read. A config deleted meanwhile gives ErrNotFound (the
// update never creates). The errors name which call failed and wrap its
// error.
func UpdateConfigWith(ctx context.Context, s ConfigUpdater, c *storageconfig.Config, attempts int, change func(*storageconfig.Config) bool) error {
	for attempt := 1; change(c); attempt++ {
		err := s.UpdateConfig(ctx, c)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errcode.ErrConflict) || attempt >= attempts {
			return fmt.Errorf("update config %s: %w", c.UID, err)
		}
		fresh, err := s.GetConfig(ctx, c.UID)
		if err != nil {
			return fmt.Errorf("reload config %s: %w", c.UID, err)
		}
		*c = *fresh
	}
	return nil
}
