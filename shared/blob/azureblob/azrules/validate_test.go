package azrules

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAccountName(t *testing.T) {
	tests := []struct {
		name    string
		account string
		wantErr bool
	}{
		{name: "shortest", account: "abc"},
		{name: "longest", account: strings.Repeat("a1", 12)},
		{name: "digits", account: "123store"},
		{name: "too short", account: "ab", wantErr: true},
		{name: "too long", account: strings.Repeat("a", 25), wantErr: true},
		{name: "upper case", account: "MyStore", wantErr: true},
		{name: "hyphen", account: "my-store", wantErr: true},
		{name: "empty", account: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAccountName(tt.account)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateAccountName(%q) = %v, want error %v", tt.account, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadAccountName) {
				t.Errorf("error %v does not wrap ErrBadAccountName", err)
			}
		})
	}
}

func TestValidateContainerName(t *testing.T) {
	tests := []struct {
		name      string
		container string
		wantErr   bool
	}{
		{name: "simple", container: "data"},
		{name: "hyphens", container: "my-data-2"},
		{name: "shortest", container: "abc"},
		{name: "longest", container: strings.Repeat("a", 63)},
		{name: "root", container: "$root"},
		{name: "static website", container: "$web"},
		{name: "too short", container: "ab", wantErr: true},
		{name: "too long", container: strings.Repeat("a", 64), wantErr: true},
		{name: "upper case", container: "Data", wantErr: true},
		{name: "leading hyphen", container: "-data", wantErr: true},
		{name: "trailing hyphen", container: "data-", wantErr: true},
		{name: "double hyphen", container: "my--data", wantErr: true},
		{name: "underscore", container: "my_data", wantErr: true},
		{name: "other dollar name", container: "$data", wantErr: true},
		{name: "dot", container: "my.data", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateContainerName(tt.container)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateContainerName(%q) = %v, want error %v", tt.container, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadContainerName) {
				t.Errorf("error %v does not wrap ErrBadContainerName", err)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		account  string
		override string
		want     string
	}{
		{name: "default", account: "acct", want: "https://acct.blob.core.windows.net/"},
		{name: "sovereign cloud", account: "acct", override: "https://acct.blob.core.chinacloudapi.cn", want: "https://acct.blob.core.chinacloudapi.cn/"},
		{name: "azurite path style", account: "acct", override: "http://127.0.0.1:10000/acct", want: "http://127.0.0.1:10000/acct/"},
		{name: "already slashed", account: "acct", override: "http://127.0.0.1:10000/acct/", want: "http://127.0.0.1:10000/acct/"},
		{name: "case and space", account: "acct", override: " HTTPS://ACCT.Blob.Core.Windows.Net ", want: "https://acct.blob.core.windows.net/"},
		{name: "query dropped", account: "acct", override: "https://acct.example.com/?x=1", want: "https://acct.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Endpoint(tt.account, tt.override); got != tt.want {
				t.Errorf("Endpoint(%q, %q) = %q, want %q", tt.account, tt.override, got, tt.want)
			}
		})
	}
}

func TestValidateEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		wantErr  bool
	}{
		{name: "https", endpoint: "https://acct.blob.core.usgovcloudapi.net"},
		{name: "http with port and path", endpoint: "http://127.0.0.1:10000/acct"},
		{name: "no scheme", endpoint: "acct.blob.core.windows.net", wantErr: true},
		{name: "ftp", endpoint: "ftp://acct.example.com", wantErr: true},
		{name: "user info", endpoint: "https://user:pw@acct.example.com", wantErr: true},
		{name: "query", endpoint: "https://acct.example.com/?sv=1", wantErr: true},
		{name: "fragment", endpoint: "https://acct.example.com/#x", wantErr: true},
		{name: "no host", endpoint: "https:///acct", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEndpoint(tt.endpoint)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ValidateEndpoint(%q) = %v, want error %v", tt.endpoint, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadEndpoint) {
				t.Errorf("error %v is not ErrBadEndpoint", err)
			}
		})
	}
}
