package storageconfig_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// plainSealer "opens" every envelope to plain, for the decoding paths.
type plainSealer struct{ plain string }

func (p plainSealer) Seal(context.Context, []byte, seal.Binding) ([]byte, error) { return nil, nil }
func (p plainSealer) Open(context.Context, []byte, seal.Binding) ([]byte, error) {
	return []byte(p.plain), nil
}

func TestOpenCredentialsNeverQuotesThePlaintext(t *testing.T) {
	c := &storageconfig.Config{UID: "u-1", OrgID: 7}
	tests := []struct {
		name, plain string
	}{
		{"truncated", `{"secret_access_key": "SECRETVALUE`},
		{"wrong type", `{"secret_access_key": ["SECRETVALUE"]}`},
		{"not json", `SECRETVALUE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := storageconfig.OpenCredentials(context.Background(), plainSealer{tt.plain}, c)
			if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "not a credentials document") {
				t.Errorf("error %v: want one that says what is wrong and quotes nothing", err)
			}
		})
	}
	creds, err := storageconfig.OpenCredentials(context.Background(), plainSealer{`{"access_key_id":"AK"}`}, c)
	if err != nil || creds["access_key_id"] != "AK" {
		t.Errorf("a credentials document: %+v, %v", creds, err)
	}
	boom := errors.New("boom")
	if _, err := storageconfig.OpenCredentials(context.Background(), failSealer{boom}, c); !errors.Is(err, boom) {
		t.Errorf("open error %v, want it wrapped", err)
	}
}

type failSealer struct{ err error }

func (f failSealer) Seal(context.Context, []byte, seal.Binding) ([]byte, error) { return nil, f.err }
func (f failSealer) Open(context.Context, []byte, seal.Binding) ([]byte, error) { return nil, f.err }
