package main

import (
	"reflect"
	"testing"
)

// TestServeAppOrigins checks --app-origin and BUCKETLINK_APP_ORIGINS: the
// flag repeats or takes a list, replaces the variable, and every origin is
// serialized as a browser sends it.
func TestServeAppOrigins(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		ok   bool
		want []string
	}{
		{"none", "", nil, true, nil},
		{"environment", "https://a.example.com,http://localhost:3000", nil, true, []string{"https://a.example.com", "http://localhost:3000"}},
		{"flag repeated", "", []string{"--app-origin", "https://a.example.com", "--app-origin", "https://B.example.com:443/"}, true, []string{"https://a.example.com", "https://b.example.com"}},
		{"flag list", "", []string{"--app-origin", "https://a.example.com,https://b.example.com"}, true, []string{"https://a.example.com", "https://b.example.com"}},
		{"flag over environment", "https://env.example.com", []string{"--app-origin", "https://a.example.com"}, true, []string{"https://a.example.com"}},
		{"duplicates dropped", "", []string{"--app-origin", "https://a.example.com", "--app-origin", "https://a.example.com:443"}, true, []string{"https://a.example.com"}},
		{"bad flag", "", []string{"--app-origin", "https://a.example.com/path"}, false, nil},
		{"bad environment", "a.example.com", nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BUCKETLINK_APP_ORIGINS", tt.env)
			cfg, err := parseServeConfig(tt.args)
			if (err == nil) != tt.ok {
				t.Fatalf("parseServeConfig(%q) with BUCKETLINK_APP_ORIGINS=%q = %v, want ok %v", tt.args, tt.env, err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(cfg.AppOrigins, tt.want) {
				t.Errorf("AppOrigins = %q, want %q", cfg.AppOrigins, tt.want)
			}
		})
	}
}
