package gcskey

import (
	"strings"
	"testing"
)

func TestValidateServiceAccountEmail(t *testing.T) {
	tests := []struct {
		email string
		ok    bool
	}{
		{"data-reader@acme-prod.iam.gserviceaccount.com", true},
		{"acme-prod@appspot.gserviceaccount.com", true},
		{"123456789012-compute@developer.gserviceaccount.com", true},
		{"sa@proj.example.com.iam.gserviceaccount.com", true}, // a domain-scoped project
		{"", false},
		{"no-at-sign.iam.gserviceaccount.com", false},
		{"user@gmail.com", false},
		{"sa@.iam.gserviceaccount.com", false},
		{"Upper@proj.iam.gserviceaccount.com", false},
		{"a/b@proj.iam.gserviceaccount.com", false},
		{"sa@proj.iam.gserviceaccount.com:signBlob", false},
		{"sa@proj%2F.iam.gserviceaccount.com", false},
		{"-sa@proj.iam.gserviceaccount.com", false},
		{strings.Repeat("a", 64) + "@proj.iam.gserviceaccount.com", false},
		{"sa@proj.iam.gserviceaccount.com.evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			err := ValidateServiceAccountEmail(tt.email)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateServiceAccountEmail(%q) = %v, want ok=%v", tt.email, err, tt.ok)
			}
			if err != nil && tt.email != "" && strings.Contains(err.Error(), tt.email) {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
}
