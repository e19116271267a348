// Package connect holds connect sessions: short-lived tokens that a
// platform's back end mints with an admin API key and hands to a browser,
// so that the connect page (package connectpage) can set up one storage
// config of one org, or rotate the credentials of one, without an API key
// ever reaching the browser.
//
// A session is scoped to one org and one purpose (a rotate session to one
// config), expires, and is used once: the create or rotation that
// consumes it marks it used in the same atomic write
// (store.ConnectSessions). Only its SHA-256 hash is stored, as for API
// keys (package identity).
package connect

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenPrefix marks connect-session tokens, so that secret scanners (and
// the HTTP edge) tell them from API keys.
const TokenPrefix = "bcs_"

// tokenBytes is the randomness of a token: 256 bits.
const tokenBytes = 32

var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// The lifetime a session may be given: DefaultTTL when the request names
// none, between MinTTL and MaxTTL otherwise.
const (
	DefaultTTL = 15 * time.Minute
	MinTTL     = time.Minute
	MaxTTL     = time.Hour
)

// Purpose is what a session may do.
type Purpose string

// The purposes: create one config of the org, or rotate the credentials
// of one config (Session.ConfigUID) with a PATCH.
const (
	PurposeCreate Purpose = "create"
	PurposeRotate Purpose = "rotate"
)

// ErrInvalidToken is any token that is malformed or unknown; callers
// answer both alike.
var ErrInvalidToken = errors.New("invalid connect session")

// Session is the stored form of a connect session: its hash, never the
// token.
type Session struct {
	// ID is the public id (safe to log): "cs_" and the first bytes of the
	// hash in hex.
	ID        string
	Hash      [32]byte
	OrgID     int64
	Purpose   Purpose
	CreatedBy string // the API key id that minted it
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the create or rotation that consumed it was stored;
	// zero: unused.
	UsedAt time.Time
	// ConfigUID is the config that consumed a create session (empty while
	// unused), and the one config a rotate session may rotate (set when
	// it is minted).
	ConfigUID string
}

// State is why a session can or cannot be used now.
type State int

// The states of a session.
const (
	Usable State = iota
	Expired
	Used
)

// StateAt reports the session's state at now. A used session reads as
// used even once it has expired.
func (s *Session) StateAt(now time.Time) State {
	switch {
	case !s.UsedAt.IsZero():
		return Used
	case !now.Before(s.ExpiresAt):
		return Expired
	}
	return Usable
}

// New returns a fresh token and its session (ID and Hash set; the caller
// sets the rest). The token is shown once and never stored.
func New() (string, *Session, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("generate connect session: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := HashToken(token)
	return token, &Session{ID: SessionID(h), Hash: h}, nil
}

// HashToken is how tokens are stored and looked up: SHA-256 of the whole
// token, which carries 256 random bits.
func HashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// SessionID is a session's public id.
func SessionID(h [32]byte) string { return "cs_" + hex.EncodeToString(h[:6]) }

// CheckFormat reports whether token has the shape of a connect-session
// token, without any lookup.
func CheckFormat(token string) error {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return ErrInvalidToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(token[len(TokenPrefix):]); err != nil {
		return ErrInvalidToken
	}
	return nil
}
