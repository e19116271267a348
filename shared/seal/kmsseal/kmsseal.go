// Package kmsseal is the seal.Sealer backed by AWS KMS: envelope
// encryption where KMS holds the master key and never lets it out.
//
// Each Seal asks KMS for a fresh AES-256 data key (GenerateDataKey) under
// the configured KMS key, with the seal.Binding as encryption context
// (organization and config uid; nothing secret). It encrypts the plaintext
// locally with AES-256-GCM under that data key, the binding's associated
// data authenticated, stores the KMS-wrapped data key next to the
// ciphertext and wipes the plaintext data key. Open asks KMS to Decrypt the
// wrapped key with the same encryption context, pinned to the configured
// key, and then opens the ciphertext. The binding is thus enforced twice:
// by KMS (an envelope moved to another config or organization does not
// decrypt there) and by the local AEAD.
//
// Envelope format, version 1 (all sizes in bytes, n = len(wrapped key)):
//
//	offset  size  field
//	0       1     version (0x01)
//	1       2     n, big endian, 1..6144
//	3       n     KMS CiphertextBlob of the data key
//	3+n     12    nonce
//	15+n    m+16  AES-256-GCM ciphertext of the m-byte plaintext + tag
//
// Errors: an envelope that does not open (tampered, another binding,
// another key) matches seal.ErrOpen. Throttling, KMS internal errors,
// timeouts and network failures are retried by the SDK's standard retryer
// with capped exponential backoff and jitter (package backoff); when the attempts run out the error matches
// errcode.ErrUnavailable. A cancelled ctx gives an error matching
// context.Canceled. All of this is decided in one place, classify.
package kmsseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/bucketlink/bucketlink/shared/seal"
)

// Envelope layout, version 1.
const (
	version1     = 0x01
	lenSize      = 2
	offBlob      = 1 + lenSize
	nonceSize    = 12
	tagSize      = 16
	dataKeySize  = 32
	maxBlobSize  = 6144 // the KMS limit on a CiphertextBlob
	minEnvelope  = offBlob + 1 + nonceSize + tagSize
	envelopeHead = offBlob + nonceSize // bytes besides the blob and the sealed data
)

// KMS is the part of the AWS KMS API a Sealer uses. *kms.Client implements
// it. The Sealer passes an option on every call that replaces the client's
// retryer with the Sealer's (the SDK's standard retryer, configured by
// WithRetry and deciding through classify) and bounds and counts each
// attempt, so that one policy decides whatever the client was built with.
// An implementation that ignores the options makes one attempt per call.
type KMS interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMS = (*kms.Client)(nil)

// Sealer is a seal.Sealer over one KMS key. It is safe for concurrent use.
// It holds no secret: the master key stays in KMS and data keys are wiped
// after each call.
type Sealer struct {
	client  KMS
	keyID   string
	cfg     config
	retryer aws.Retryer
	stats   counters
}

var _ seal.Sealer = (*Sealer)(nil)

// New returns a Sealer that wraps data keys with the KMS key keyID (a key
// id, key ARN, alias name or alias ARN; Open pins Decrypt to it, so use the
// same form for a Sealer that must open old envelopes). It makes no call to
// KMS; a wrong key id shows on the first Seal or Open.
func New(client KMS, keyID string, opts ...Option) *Sealer {
	cfg := defaultConfig
	for _, o := range opts {
		o(&cfg)
	}
	return &Sealer{client: client, keyID: keyID, cfg: cfg, retryer: newRetryer(cfg)}
}

// KeyID returns the KMS key id the Sealer was built with.
func (s *Sealer) KeyID() string { return s.keyID }

// String names the Sealer and its key; there is nothing secret to hide.
func (s *Sealer) String() string { return "kmsseal.Sealer{key:" + s.keyID + "}" }

// Seal encrypts plaintext under a fresh KMS data key bound to b and returns
// the envelope: one GenerateDataKey call (more if KMS must be retried).
func (s *Sealer) Seal(ctx context.Context, plaintext []byte, b seal.Binding) ([]byte, error) {
	var out *kms.GenerateDataKeyOutput
	err := s.do(ctx, opGenerateDataKey, func(ctx context.Context, opt func(*kms.Options)) error {
		var err error
		out, err = s.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId:             aws.String(s.keyID),
			KeySpec:           kmstypes.DataKeySpecAes256,
			EncryptionContext: b.Context(),
		}, opt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kmsseal: seal: %w", err)
	}
	defer clear(out.Plaintext)
	blob := out.CiphertextBlob
	if len(out.Plaintext) != dataKeySize || len(blob) == 0 || len(blob) > maxBlobSize {
		return nil, fmt.Errorf("kmsseal: seal: GenerateDataKey returned a %d-byte key and a %d-byte blob, want %d and 1..%d",
			len(out.Plaintext), len(blob), dataKeySize, maxBlobSize)
	}
	aead, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("kmsseal: seal: %w", err)
	}

	n := len(blob)
	env := make([]byte, envelopeHead+n, envelopeHead+n+len(plaintext)+tagSize)
	env[0] = version1
	binary.BigEndian.PutUint16(env[1:offBlob], uint16(n))
	copy(env[offBlob:], blob)
	nonce := env[offBlob+n : offBlob+n+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kmsseal: seal: generate nonce: %w", err)
	}
	return aead.Seal(env, nonce, plaintext, b.AssociatedData()), nil
}

// Open decrypts an envelope made by Seal for the same binding under the
// same KMS key: one Decrypt call (more if KMS must be retried). An envelope
// that does not open gives an error matching seal.ErrOpen that reveals
// nothing about the key or the plaintext.
func (s *Sealer) Open(ctx context.Context, envelope []byte, b seal.Binding) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kmsseal: open: %w", err)
	}
	blob, nonce, sealed, err := parse(envelope)
	if err != nil {
		return nil, err
	}

	var out *kms.DecryptOutput
	err = s.do(ctx, opDecrypt, func(ctx context.Context, opt func(*kms.Options)) error {
		var err error
		out, err = s.client.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob:    blob,
			KeyId:             aws.String(s.keyID),
			EncryptionContext: b.Context(),
		}, opt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kmsseal: open: %w", err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != dataKeySize {
		return nil, fmt.Errorf("%w: the wrapped key is %d bytes, not a data key", seal.ErrOpen, len(out.Plaintext))
	}
	aead, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("kmsseal: open: %w", err)
	}
	plaintext, err := aead.Open(make([]byte, 0, len(sealed)-tagSize), nonce, sealed, b.AssociatedData())
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext does not authenticate", seal.ErrOpen)
	}
	return plaintext, nil
}

// parse splits a version 1 envelope into its wrapped key, nonce and sealed
// data, which alias envelope. A malformed envelope matches seal.ErrOpen.
func parse(env []byte) (blob, nonce, sealed []byte, err error) {
	if len(env) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: empty envelope", seal.ErrOpen)
	}
	if v := env[0]; v != version1 {
		return nil, nil, nil, fmt.Errorf("%w: unknown envelope version %d", seal.ErrOpen, v)
	}
	if len(env) < minEnvelope {
		return nil, nil, nil, fmt.Errorf("%w: envelope too short (%d bytes)", seal.ErrOpen, len(env))
	}
	n := int(binary.BigEndian.Uint16(env[1:offBlob]))
	if n == 0 || n > maxBlobSize || len(env) < envelopeHead+n+tagSize {
		return nil, nil, nil, fmt.Errorf("%w: wrapped key length %d does not fit a %d-byte envelope", seal.ErrOpen, n, len(env))
	}
	blob = env[offBlob : offBlob+n]
	nonce = env[offBlob+n : offBlob+n+nonceSize]
	sealed = env[offBlob+n+nonceSize:]
	return blob, nonce, sealed, nil
}

// newGCM returns AES-256-GCM under key. The cipher keeps its own key
// schedule, so the caller may clear key afterwards.
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

// Stats counts the KMS requests a Sealer has sent since it was built.
type Stats struct {
	GenerateDataKey int64 // GenerateDataKey requests, retries included
	Decrypt         int64 // Decrypt requests, retries included
	Retries         int64 // requests of either kind that retried a failed one
}

// Calls returns the number of KMS requests sent, retries included.
func (st Stats) Calls() int64 { return st.GenerateDataKey + st.Decrypt }

type counters struct {
	generateDataKey, decrypt, retries atomic.Int64
}

// Stats returns a snapshot of the Sealer's KMS request counts.
func (s *Sealer) Stats() Stats {
	return Stats{
		GenerateDataKey: s.stats.generateDataKey.Load(),
		Decrypt:         s.stats.decrypt.Load(),
		Retries:         s.stats.retries.Load(),
	}
}

// Option configures a Sealer.
type Option func(*config)

type config struct {
	maxAttempts    int
	baseDelay      time.Duration
	maxDelay       time.Duration
	attemptTimeout time.Duration
}

var defaultConfig = config{
	maxAttempts:    5,
	baseDelay:      50 * time.Millisecond,
	maxDelay:       time.Second,
	attemptTimeout: 3 * time.Second,
}

// WithRetry sets how transient KMS failures are retried: at most
// maxAttempts requests per Seal or Open (at least 1), waiting between
// baseDelay·2^(k-1) and half that before retry k, never more than maxDelay.
// The default is 5 attempts, 50ms, 1s.
func WithRetry(maxAttempts int, baseDelay, maxDelay time.Duration) Option {
	return func(c *config) {
		c.maxAttempts = max(maxAttempts, 1)
		c.baseDelay = max(baseDelay, 0)
		c.maxDelay = max(maxDelay, c.baseDelay)
	}
}

// WithAttemptTimeout bounds each KMS request; one that takes longer is
// abandoned and retried like a network failure. The default is 3s. Zero
// means no per-request bound (the ctx of Seal or Open still applies).
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) { c.attemptTimeout = max(d, 0) }
}
