package testenv

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

func TestFindMoto(t *testing.T) {
	venv := t.TempDir()
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(venv, "bin", "moto_server")
	t.Setenv(VenvEnv, venv)
	if _, err := findMoto(); err == nil {
		t.Fatal("findMoto found moto_server in an empty virtualenv")
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := findMoto(); err == nil {
		t.Fatal("findMoto accepted a non-executable moto_server")
	}
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := findMoto(); err != nil || p != script {
		t.Fatalf("findMoto = %q, %v; want %q", p, err, script)
	}
}

// TestMotoKMS checks the KMS behaviour kmsseal relies on: data keys bound
// to an encryption context that Decrypt verifies, and Decrypt pinned to a
// key id.
func TestMotoKMS(t *testing.T) {
	m := StartMoto(t)
	ctx := t.Context()
	client := kms.NewFromConfig(m.AWSConfig())
	key1, key2 := m.NewKMSKey(t), m.NewKMSKey(t)
	if key1 == key2 || key1 == "" {
		t.Fatalf("NewKMSKey returned %q and %q, want two distinct ids", key1, key2)
	}
	ec := map[string]string{"organization": "1", "config_uid": "cfg-a"}
	gen, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(key1), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	if len(gen.Plaintext) != 32 || len(gen.CiphertextBlob) == 0 {
		t.Fatalf("GenerateDataKey: %d-byte key, %d-byte blob; want 32 and some", len(gen.Plaintext), len(gen.CiphertextBlob))
	}

	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String(key1), EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(dec.Plaintext, gen.Plaintext) {
		t.Fatal("Decrypt returned another data key")
	}

	tests := []struct {
		name string
		key  string
		ec   map[string]string
		// want lists the acceptable error codes: real KMS answers
		// IncorrectKeyException for a ciphertext of another key, moto
		// AccessDeniedException.
		want []string
	}{
		{"other config", key1, map[string]string{"organization": "1", "config_uid": "cfg-b"}, []string{"InvalidCiphertextException"}},
		{"other org", key1, map[string]string{"organization": "2", "config_uid": "cfg-a"}, []string{"InvalidCiphertextException"}},
		{"no context", key1, nil, []string{"InvalidCiphertextException"}},
		{"extra entry", key1, map[string]string{"organization": "1", "config_uid": "cfg-a", "x": "y"}, []string{"InvalidCiphertextException"}},
		{"other key", key2, ec, []string{"IncorrectKeyException", "AccessDeniedException"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String(tc.key), EncryptionContext: tc.ec})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Decrypt = %v, want a KMS API error %v", err, tc.want)
			}
			if !slices.Contains(tc.want, apiErr.ErrorCode()) {
				t.Fatalf("Decrypt error code %s, want one of %v", apiErr.ErrorCode(), tc.want)
			}
		})
	}

	pid := m.cmd.Process.Pid
	m.stop()
	m.stop() // idempotent
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("moto process %d still exists after stop: %v", pid, err)
	}
	hc := &http.Client{Timeout: time.Second}
	if resp, err := hc.Get(m.Endpoint + "/moto-api/data.json"); err == nil {
		resp.Body.Close()
		t.Errorf("moto still answers at %s after stop", m.Endpoint)
	}
}

func TestSharedMoto(t *testing.T) {
	m1 := SharedMoto(t)
	m2 := SharedMoto(t)
	if m1 != m2 {
		t.Fatal("SharedMoto started a second server")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	client := kms.NewFromConfig(m1.AWSConfig())
	key := m1.NewKMSKey(t)
	if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); err != nil {
		t.Fatalf("DescribeKey on the shared server: %v", err)
	}
}
