// Package localseal is the seal.Sealer for a single machine: envelope
// encryption under a 32-byte master key kept in a file (for example
// $BUCKETLINK_DATA/master.key), created on first use.
//
// Each Seal draws a fresh AES-256 data key, encrypts the plaintext with it
// (AES-256-GCM), wraps the data key under the master key (AES-256-GCM) and
// returns both in one envelope. Both encryptions authenticate the
// seal.Binding as associated data.
//
// Envelope format, version 1 (all sizes in bytes):
//
//	offset  size  field
//	0       1     version (0x01)
//	1       12    nonce for the wrapped data key
//	13      48    wrapped data key (32-byte key + 16-byte GCM tag)
//	61      12    nonce for the data
//	73      n+16  ciphertext of the n-byte plaintext + GCM tag
//
// The version byte fixes the layout of everything after it.
package localseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/bucketlink/bucketlink/shared/seal"
)

// Envelope layout, version 1.
const (
	version1     = 0x01
	nonceSize    = 12
	tagSize      = 16
	wrappedSize  = KeySize + tagSize
	offWrapNonce = 1
	offWrapped   = offWrapNonce + nonceSize
	offDataNonce = offWrapped + wrappedSize
	offData      = offDataNonce + nonceSize
	minEnvelope  = offData + tagSize
)

// Sealer is a seal.Sealer over a local master key. It is safe for
// concurrent use. Its formatted form never shows the key.
type Sealer struct {
	key []byte // KeySize bytes; never modified after Open
}

var _ seal.Sealer = (*Sealer)(nil)

// Open returns a Sealer over the master key stored at path. If no file
// exists there, Open creates one with KeySize random bytes and mode 0600;
// concurrent first-time Opens, in one process or several, all end up with
// the same key. The directory must already exist. Open refuses a key file
// of the wrong size or one that group or others may access.
func Open(path string) (*Sealer, error) {
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	return &Sealer{key: key}, nil
}

// Format implements fmt.Formatter so that no verb prints the key.
func (s *Sealer) Format(f fmt.State, verb rune) {
	io.WriteString(f, "localseal.Sealer{key:redacted}")
}

// Seal encrypts plaintext under a fresh data key bound to b and returns the
// envelope. It fails only if ctx is already done or randomness fails.
func (s *Sealer) Seal(ctx context.Context, plaintext []byte, b seal.Binding) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localseal: seal: %w", err)
	}
	ad := b.AssociatedData()
	dataKey := make([]byte, KeySize)
	defer clear(dataKey)

	env := make([]byte, offData, offData+len(plaintext)+tagSize)
	env[0] = version1
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("localseal: seal: generate data key: %w", err)
	}
	if _, err := rand.Read(env[offWrapNonce:offWrapped]); err != nil {
		return nil, fmt.Errorf("localseal: seal: generate nonce: %w", err)
	}
	if _, err := rand.Read(env[offDataNonce:offData]); err != nil {
		return nil, fmt.Errorf("localseal: seal: generate nonce: %w", err)
	}

	wrap, err := newGCM(s.key)
	if err != nil {
		return nil, fmt.Errorf("localseal: seal: %w", err)
	}
	wrap.Seal(env[offWrapped:offWrapped], env[offWrapNonce:offWrapped], dataKey, ad)

	data, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("localseal: seal: %w", err)
	}
	return data.Seal(env, env[offDataNonce:offData], plaintext, ad), nil
}

// Open decrypts an envelope made by Seal for the same binding under the
// same master key. Any other envelope fails with an error matching
// seal.ErrOpen that reveals nothing about the key or the plaintext.
func (s *Sealer) Open(ctx context.Context, envelope []byte, b seal.Binding) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localseal: open: %w", err)
	}
	if len(envelope) == 0 {
		return nil, fmt.Errorf("%w: empty envelope", seal.ErrOpen)
	}
	if v := envelope[0]; v != version1 {
		return nil, fmt.Errorf("%w: unknown envelope version %d", seal.ErrOpen, v)
	}
	if len(envelope) < minEnvelope {
		return nil, fmt.Errorf("%w: envelope too short (%d bytes)", seal.ErrOpen, len(envelope))
	}
	ad := b.AssociatedData()

	wrap, err := newGCM(s.key)
	if err != nil {
		return nil, fmt.Errorf("localseal: open: %w", err)
	}
	dataKey, err := wrap.Open(make([]byte, 0, wrappedSize), envelope[offWrapNonce:offWrapped], envelope[offWrapped:offDataNonce], ad)
	defer clear(dataKey)
	if err != nil {
		return nil, fmt.Errorf("%w: data key does not unwrap", seal.ErrOpen)
	}

	data, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("localseal: open: %w", err)
	}
	plaintext, err := data.Open(make([]byte, 0, len(envelope)-minEnvelope), envelope[offDataNonce:offData], envelope[offData:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext does not authenticate", seal.ErrOpen)
	}
	return plaintext, nil
}

// DeriveKey returns a 32-byte key for purpose, derived from the master key
// with HKDF-SHA256, for uses other than sealing (for example signing
// pagination cursors). The same purpose always gives the same key under
// the same master key; different purposes give unrelated keys. Use a
// fixed, versioned purpose string such as "httpapi/cursor/v1".
func (s *Sealer) DeriveKey(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s.key, nil, "bucketlink/localseal/derive/v1;purpose="+purpose, KeySize)
	if err != nil {
		// Only possible for an invalid output length, which is a constant.
		panic("localseal: hkdf: " + err.Error())
	}
	return k
}

// newGCM returns AES-256-GCM under key. The cipher copies the key, so the
// caller may clear key afterwards.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
