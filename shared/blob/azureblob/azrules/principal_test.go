package azrules

import (
	"errors"
	"testing"
)

func TestAuthority(t *testing.T) {
	tests := []struct {
		endpoint, want string
		err            error
	}{
		{"https://acct.blob.core.windows.net/", "https://login.microsoftonline.com/", nil},
		{"https://ACCT.blob.core.windows.net/", "https://login.microsoftonline.com/", nil},
		{"https://acct.blob.core.chinacloudapi.cn/", "https://login.chinacloudapi.cn/", nil},
		{"https://acct.blob.core.usgovcloudapi.net/", "https://login.microsoftonline.us/", nil},
		{"https://blob.core.windows.net/", "", ErrNoAuthority},
		{"http://acct.blob.core.windows.net/", "", ErrNoAuthority},
		{"https://acct.blob.core.windows.net.evil.example/", "", ErrNoAuthority},
		{"https://127.0.0.1:10000/acct/", "", ErrNoAuthority},
		{"https://storage.example.com/acct/", "", ErrNoAuthority},
	}
	for _, tt := range tests {
		got, err := Authority(tt.endpoint)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Authority(%q) = %q, %v; want %q, %v", tt.endpoint, got, err, tt.want, tt.err)
		}
	}
}

func TestValidatePrincipalIDs(t *testing.T) {
	for _, ok := range []string{"72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com", "example.com", "72F988BF-86F1-41AF-91AB-2D7CD011DB47"} {
		if err := ValidateTenantID(ok); err != nil {
			t.Errorf("ValidateTenantID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "common", "../x", "a/b.com", "contoso.onmicrosoft.com?x=1", "-a.com", "72f988bf86f141af91ab2d7cd011db47"} {
		if err := ValidateTenantID(bad); !errors.Is(err, ErrBadTenantID) {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrBadTenantID", bad, err)
		}
	}
	if err := ValidateClientID("00000000-0000-4000-8000-000000000003"); err != nil {
		t.Errorf("ValidateClientID: %v", err)
	}
	for _, bad := range []string{"", "app", "00000000-0000-4000-8000-00000000000g", "00000000/0000-4000-8000-000000000003"} {
		if err := ValidateClientID(bad); !errors.Is(err, ErrBadClientID) {
			t.Errorf("ValidateClientID(%q) = %v, want ErrBadClientID", bad, err)
		}
	}
}
