package kmsseal_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
	"github.com/bucketlink/bucketlink/shared/seal/sealtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newSealer returns a Sealer over a fresh key in the package's moto.
func newSealer(t *testing.T, opts ...kmsseal.Option) (*kmsseal.Sealer, *testenv.Moto) {
	t.Helper()
	m := testenv.SharedMoto(t)
	return kmsseal.New(kms.NewFromConfig(m.AWSConfig()), m.NewKMSKey(t), opts...), m
}

func TestConformance(t *testing.T) {
	sealtest.Run(t, sealtest.Harness{
		New: func(t *testing.T) seal.Sealer {
			s, _ := newSealer(t)
			return s
		},
		Reopen: func(t *testing.T, s seal.Sealer) seal.Sealer {
			m := testenv.SharedMoto(t)
			return kmsseal.New(kms.NewFromConfig(m.AWSConfig()), s.(*kmsseal.Sealer).KeyID())
		},
	})
}

// splitEnvelope takes a version 1 envelope apart as the package doc lays
// it out.
func splitEnvelope(t *testing.T, env []byte) (blob, nonce, sealed []byte) {
	t.Helper()
	if len(env) < 3 || env[0] != 0x01 {
		t.Fatalf("envelope does not start with version 0x01: % x", env[:min(len(env), 3)])
	}
	n := int(binary.BigEndian.Uint16(env[1:3]))
	if len(env) < 3+n+12+16 {
		t.Fatalf("envelope of %d bytes cannot hold a %d-byte wrapped key", len(env), n)
	}
	return env[3 : 3+n], env[3+n : 3+n+12], env[3+n+12:]
}

func TestEnvelopeLayout(t *testing.T) {
	s, _ := newSealer(t)
	b := seal.Binding{OrgID: 1, ConfigUID: "c"}
	for _, size := range []int{0, 1, 100} {
		env, err := s.Seal(t.Context(), make([]byte, size), b)
		if err != nil {
			t.Fatal(err)
		}
		blob, _, sealed := splitEnvelope(t, env)
		if len(blob) == 0 {
			t.Error("empty wrapped key")
		}
		if len(sealed) != size+16 {
			t.Errorf("%d-byte plaintext sealed to %d bytes, want %d", size, len(sealed), size+16)
		}
	}
}

// TestKMSContextBindsEnvelope shows that the binding is enforced by KMS
// itself, not only by the local associated data: an attacker who holds a
// data key (here the test, which asks KMS for it) and re-seals config A's
// data for config B still cannot get B's Open to accept it, because KMS
// refuses to unwrap A's data key under B's encryption context.
func TestKMSContextBindsEnvelope(t *testing.T) {
	s, m := newSealer(t)
	ctx := t.Context()
	client := kms.NewFromConfig(m.AWSConfig())
	bindA := seal.Binding{OrgID: 1, ConfigUID: "cfg-a"}
	pt := []byte("credential " + rand.Text())
	env, err := s.Seal(ctx, pt, bindA)
	if err != nil {
		t.Fatal(err)
	}
	blob, nonce, _ := splitEnvelope(t, env)
	dk, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, KeyId: aws.String(s.KeyID()), EncryptionContext: bindA.Context()})
	if err != nil {
		t.Fatalf("Decrypt of the wrapped key under A's context: %v", err)
	}
	block, err := aes.NewCipher(dk.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		b    seal.Binding
	}{
		{"other config", seal.Binding{OrgID: 1, ConfigUID: "cfg-b"}},
		{"other org", seal.Binding{OrgID: 2, ConfigUID: "cfg-a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, KeyId: aws.String(s.KeyID()), EncryptionContext: tc.b.Context()})
			if err == nil {
				t.Fatal("KMS unwrapped A's data key under another binding's encryption context")
			}
			// A's wrapped key, data sealed with the right key and B's
			// associated data: only KMS can reject it.
			forged := append(bytes.Clone(env[:3+len(blob)+12]), aead.Seal(nil, nonce, pt, tc.b.AssociatedData())...)
			got, err := s.Open(ctx, forged, tc.b)
			if !errors.Is(err, seal.ErrOpen) {
				t.Fatalf("Open of A's re-sealed envelope as %+v = %d bytes, %v; want seal.ErrOpen", tc.b, len(got), err)
			}
		})
	}
	got, err := s.Open(ctx, env, bindA)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open as A: %v", err)
	}
}

func TestStatsCountsCalls(t *testing.T) {
	s, _ := newSealer(t)
	ctx := t.Context()
	b := seal.Binding{OrgID: 3, ConfigUID: "c"}
	env, err := s.Seal(ctx, []byte("x"), b)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Open(ctx, env, b); err != nil {
			t.Fatal(err)
		}
	}
	// A malformed envelope is refused before any call to KMS.
	if _, err := s.Open(ctx, []byte{0x01, 0, 0}, b); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("Open of a malformed envelope: %v", err)
	}
	want := kmsseal.Stats{GenerateDataKey: 1, Decrypt: 2}
	if got := s.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if got := s.Stats().Calls(); got != 3 {
		t.Errorf("Calls() = %d, want 3", got)
	}
}

func TestStringShowsKeyOnly(t *testing.T) {
	s := kmsseal.New(nil, "alias/bucketlink")
	if got, want := s.String(), "kmsseal.Sealer{key:alias/bucketlink}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := s.Open(context.Background(), nil, seal.Binding{}); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open(nil) = %v, want seal.ErrOpen without touching KMS", err)
	}
}
