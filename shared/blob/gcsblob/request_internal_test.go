package gcsblob

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadAPIError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantMsg string
		reason  string
	}{
		{name: "JSON error", status: 400, body: `{"error":{"code":400,"message":"Invalid bucket name: 'A B'","errors":[{"domain":"global","reason":"invalid","message":"Invalid bucket name: 'A B'"}]}}`,
			wantMsg: "Invalid bucket name: 'A B'", reason: "invalid"},
		{name: "text", status: 404, body: "Not Found\n", wantMsg: "Not Found"},
		{name: "empty", status: 503, body: "", wantMsg: "Service Unavailable"},
		{name: "JSON without error", status: 500, body: `{"x":1}`, wantMsg: `{"x":1}`},
		{name: "long text cut", status: 502, body: strings.Repeat("x", 1000), wantMsg: strings.Repeat("x", 200) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Body: io.NopCloser(strings.NewReader(tt.body))}
			e, ok := readAPIError(resp).(*apiError)
			if !ok {
				t.Fatalf("readAPIError is not an *apiError")
			}
			if e.Code != tt.status || e.Message != tt.wantMsg {
				t.Errorf("readAPIError = %d %q, want %d %q", e.Code, e.Message, tt.status, tt.wantMsg)
			}
			if tt.reason != "" && !hasReason(e, tt.reason) {
				t.Errorf("readAPIError reasons = %v, want %q", e.Errors, tt.reason)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "abc-._~09", want: "abc-._~09"},
		{name: "slash", in: "a/b", want: "a%2Fb"},
		{name: "space and plus", in: "a b+c", want: "a%20b%2Bc"},
		{name: "reserved", in: "?#%&=;:@", want: "%3F%23%25%26%3D%3B%3A%40"},
		{name: "utf-8", in: "ü", want: "%C3%BC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escape(tt.in); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
