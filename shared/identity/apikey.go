package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/errcode"
)

// KeyPrefix marks bucketlink API keys so that secret scanners can spot one.
const KeyPrefix = "blk_"

const (
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomChars  = 30 // 30 base62 characters: about 178 random bits
	checksumLen  = 6  // base62 CRC32 of the random part
	keyLen       = len(KeyPrefix) + randomChars + checksumLen
	publicIDSize = 6 // bytes of the hash shown as the key's id
)

// ErrInvalidKey is returned for any key that is malformed, unknown or
// revoked. Callers answer all three the same way.
var ErrInvalidKey = errors.New("invalid API key")

// NewKey returns a fresh API key and its stored form (hash and id). The key
// itself is shown once and never stored.
func NewKey(userID string) (string, *APIKey, error) {
	var b strings.Builder
	b.WriteString(KeyPrefix)
	max := big.NewInt(int64(len(base62)))
	for range randomChars {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", nil, fmt.Errorf("generate API key: %w", err)
		}
		b.WriteByte(base62[n.Int64()])
	}
	random := b.String()[len(KeyPrefix):]
	key := b.String() + checksum(random)
	h := HashKey(key)
	return key, &APIKey{ID: KeyID(h), Hash: h, UserID: userID}, nil
}

// HashKey is how keys are stored and looked up: SHA-256 of the whole key.
// Keys carry ~178 random bits, so a fast hash is enough.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// KeyID is a key's public id: the first bytes of its hash, in hex. It is
// safe to log and is what an operator revokes by.
func KeyID(h [32]byte) string { return "key_" + hex.EncodeToString(h[:publicIDSize]) }

// CheckFormat reports whether key has the shape and checksum of a bucketlink
// key, without any lookup.
func CheckFormat(key string) error {
	if len(key) != keyLen || !strings.HasPrefix(key, KeyPrefix) {
		return ErrInvalidKey
	}
	body := key[len(KeyPrefix):]
	for i := range len(body) {
		if strings.IndexByte(base62, body[i]) < 0 {
			return ErrInvalidKey
		}
	}
	if checksum(body[:randomChars]) != body[randomChars:] {
		return ErrInvalidKey
	}
	return nil
}

func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// KeyDirectory is what authentication needs from the store.
type KeyDirectory interface {
	GetAPIKeyByHash(ctx context.Context, hash [32]byte) (*APIKey, error)
	ListMemberships(ctx context.Context, userID string) ([]Membership, error)
}

// Principal is an authenticated caller: a user and its memberships.
type Principal struct {
	UserID      string
	KeyID       string
	Memberships []Membership
	// Session, when set, is the connect session the caller authenticated
	// with instead of an API key; KeyID is then the session's id, and its
	// one membership the session's org.
	Session *connect.Session
}

// RoleIn returns the caller's role in an org, if it is a member.
func (p *Principal) RoleIn(orgID int64) (Role, bool) {
	for _, m := range p.Memberships {
		if m.OrgID == orgID {
			return m.Role, true
		}
	}
	return "", false
}

// Authenticate resolves an API key to a principal. A malformed, unknown or
// revoked key is ErrInvalidKey; other errors are store failures.
func Authenticate(ctx context.Context, dir KeyDirectory, key string) (*Principal, error) {
	if err := CheckFormat(key); err != nil {
		return nil, err
	}
	k, err := dir.GetAPIKeyByHash(ctx, HashKey(key))
	if err != nil {
		if errors.Is(err, errcode.ErrNotFound) {
			return nil, ErrInvalidKey
		}
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	if k.Revoked() {
		return nil, ErrInvalidKey
	}
	ms, err := dir.ListMemberships(ctx, k.UserID)
	if err != nil {
		return nil, fmt.Errorf("list memberships of %s: %w", k.UserID, err)
	}
	return &Principal{UserID: k.UserID, KeyID: k.ID, Memberships: ms}, nil
}
