// Package seal defines how credentials are encrypted at rest: envelope
// encryption behind the Sealer interface. localseal wraps data keys with a
// master key file; kmsseal (AWS) with KMS. Package sealtest is the
// conformance suite every Sealer passes.
//
// Contract:
//   - Seal encrypts plaintext under a fresh random data key and returns one
//     self-contained envelope (wrapped data key + nonce + ciphertext).
//   - The Binding is authenticated (AES-GCM associated data, or the KMS
//     encryption context): Open with any other Binding fails with an error
//     matching ErrOpen, as does any tampered envelope.
//   - A dependency outage (KMS down) is an error matching
//     errcode.ErrUnavailable, never ErrOpen.
//   - Destroying the envelope destroys the only copy of its wrapped data key.
package seal

import (
	"context"
	"errors"
	"strconv"
)

// Binding names what an envelope belongs to. It is not secret.
type Binding struct {
	OrgID     int64
	ConfigUID string
}

// AssociatedData is the canonical byte form of b used as AEAD associated data.
func (b Binding) AssociatedData() []byte {
	return []byte("bucketlink/v1;org=" + strconv.FormatInt(b.OrgID, 10) + ";config=" + b.ConfigUID)
}

// Context is b as a KMS-style encryption context.
func (b Binding) Context() map[string]string {
	return map[string]string{"organization": strconv.FormatInt(b.OrgID, 10), "config_uid": b.ConfigUID}
}

// ErrOpen is returned when an envelope does not open: wrong binding, wrong
// key or tampering. It deliberately says no more than that.
var ErrOpen = errors.New("seal: envelope does not open for this binding")

// Sealer encrypts and decrypts credential envelopes.
type Sealer interface {
	Seal(ctx context.Context, plaintext []byte, b Binding) ([]byte, error)
	Open(ctx context.Context, envelope []byte, b Binding) ([]byte, error)
}
