package corscheck_test

import (
	"reflect"
	"testing"

	"github.com/bucketlink/bucketlink/shared/corscheck"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "plain", in: "https://app.example.com", want: "https://app.example.com"},
		{name: "case and trailing slash", in: " HTTPS://App.Example.COM/ ", want: "https://app.example.com"},
		{name: "default https port", in: "https://app.example.com:443", want: "https://app.example.com"},
		{name: "default http port", in: "http://localhost:80", want: "http://localhost"},
		{name: "other port", in: "http://localhost:3000", want: "http://localhost:3000"},
		{name: "ipv6", in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{name: "empty", in: "  ", wantErr: true},
		{name: "wildcard", in: "*", wantErr: true},
		{name: "wildcard host", in: "https://*.example.com", wantErr: true},
		{name: "no scheme", in: "app.example.com", wantErr: true},
		{name: "other scheme", in: "ftp://app.example.com", wantErr: true},
		{name: "path", in: "https://app.example.com/app", wantErr: true},
		{name: "query", in: "https://app.example.com?x=1", wantErr: true},
		{name: "empty query", in: "https://app.example.com?", wantErr: true},
		{name: "fragment", in: "https://app.example.com#top", wantErr: true},
		{name: "user", in: "https://me@app.example.com", wantErr: true},
		{name: "non-ascii", in: "https://bücher.example", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := corscheck.ParseOrigin(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseOrigin(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseOrigin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseOrigins(t *testing.T) {
	got, err := corscheck.ParseOrigins("https://a.example, https://B.example:443,,", "https://a.example/", "http://localhost:5173")
	want := []string{"https://a.example", "https://b.example", "http://localhost:5173"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseOrigins = %q, %v; want %q", got, err, want)
	}
	if got, err := corscheck.ParseOrigins(""); err != nil || got != nil {
		t.Fatalf("ParseOrigins(\"\") = %q, %v; want none", got, err)
	}
	if _, err := corscheck.ParseOrigins("https://a.example,https://b.example/path"); err == nil {
		t.Fatal("ParseOrigins with a path: no error")
	}
}
