package store

import (
	"context"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// ConnectSessions persists connect sessions (package connect).
type ConnectSessions interface {
	// CreateConnectSession stores s; its hash is unique.
	CreateConnectSession(ctx context.Context, s *connect.Session) error
	// GetConnectSession returns the session with that token hash, used,
	// expired or not. A store may delete a session some time after it
	// expired; it is then NotFound.
	GetConnectSession(ctx context.Context, hash [32]byte) (*connect.Session, error)
	// CreateConfigForSession creates c as CreateConfig does and, in the
	// same atomic write, marks the session with hash used at now by c.UID.
	// When that session is missing, already used, expired at now, of
	// another org than c.OrgID, or not for connect.PurposeCreate, nothing
	// is written and the error matches errcode.ErrConflict.
	CreateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error
	// UpdateConfigForSession updates c as UpdateConfig does (conditional
	// on its Version, which it then increments) and, in the same atomic
	// write, marks the session with hash used at now. When that session
	// is missing, already used, expired at now, of another org than
	// c.OrgID, not for connect.PurposeRotate or for another config than
	// c.UID, or when the version does not match, nothing is written and
	// the error matches errcode.ErrConflict (the caller rereads the
	// session to tell which); a missing config is ErrNotFound.
	UpdateConfigForSession(ctx context.Context, c *storageconfig.Config, hash [32]byte, now time.Time) error
}
