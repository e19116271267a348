package main

import (
	"testing"

	"github.com/bucketlink/bucketlink/shared/httpapi"
)

// TestServeVerifyOrgCapConfig checks --verify-org-cap and
// BUCKETLINK_VERIFY_ORG_CAP: the per-org bound on running bucket-verify
// verifications (the bound itself is tested in shared/httpapi).
func TestServeVerifyOrgCapConfig(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		ok   bool
		want int
	}{
		{"default", "", nil, true, httpapi.DefaultVerifyOrgCap},
		{"flag", "", []string{"--verify-org-cap", "25"}, true, 25},
		{"environment", "3", nil, true, 3},
		{"flag over environment", "3", []string{"--verify-org-cap", "4"}, true, 4},
		{"zero", "", []string{"--verify-org-cap", "0"}, false, 0},
		{"too many", "", []string{"--verify-org-cap", "1001"}, false, 0},
		{"not a number", "ten", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BUCKETLINK_VERIFY_ORG_CAP", tt.env)
			cfg, err := parseServeConfig(tt.args)
			if (err == nil) != tt.ok {
				t.Fatalf("parseServeConfig(%q) with BUCKETLINK_VERIFY_ORG_CAP=%q = %v, want ok %v", tt.args, tt.env, err, tt.ok)
			}
			if tt.ok && cfg.VerifyOrgCap != tt.want {
				t.Errorf("cap = %d, want %d", cfg.VerifyOrgCap, tt.want)
			}
		})
	}
}
