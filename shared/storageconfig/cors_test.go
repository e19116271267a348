package storageconfig

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

func TestParseCreateCORSOrigins(t *testing.T) {
	tests := []struct {
		name    string
		origins any // nil: absent
		null    bool
		want    []string
		wantErr string // on cors_origins
	}{
		{name: "absent", want: nil},
		{name: "null", null: true, want: nil},
		{name: "empty: no CORS check", origins: []string{}, want: []string{}},
		{name: "normalised, duplicates dropped",
			origins: []string{"HTTPS://App.Example.com:443/", "http://localhost:5173", "https://app.example.com"},
			want:    []string{"https://app.example.com", "http://localhost:5173"}},
		{name: "a path", origins: []string{"https://app.example.com/page"}, wantErr: "no user, path, query or fragment"},
		{name: "a wildcard", origins: []string{"*"}, wantErr: "scheme://host"},
		{name: "ftp", origins: []string{"ftp://files.example.com"}, wantErr: "https:// or http://"},
		{name: "empty origin", origins: []string{""}, wantErr: "An origin is empty"},
		{name: "not a list", origins: "https://app.example.com", wantErr: "Must be a list of strings."},
		{name: "not strings", origins: []any{1}, wantErr: "Must be a list of strings."},
		{name: "too many", origins: strings.Split(strings.Repeat("https://a.example,", MaxCORSOrigins+1), ",")[:MaxCORSOrigins+1], wantErr: "at most 10 origins"},
		{name: "too long", origins: []string{"https://" + strings.Repeat("a", 400) + ".example"}, wantErr: "at most 300 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edits := map[string]any{}
			if tt.origins != nil {
				edits["cors_origins"] = tt.origins
			}
			raw := body(t, edits)
			if tt.null {
				raw = []byte(strings.Replace(string(raw), "{", `{"cors_origins":null,`, 1))
			}
			c, _, err := ParseCreate(raw)
			if tt.wantErr != "" {
				fe := fieldErrors(t, err)
				if got := strings.Join(fe["cors_origins"], " "); !strings.Contains(got, tt.wantErr) || len(fe) != 1 {
					t.Fatalf("errors %v, want one on cors_origins containing %q", fe, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCreate: %v", err)
			}
			if !reflect.DeepEqual(c.CORSOrigins, tt.want) {
				t.Errorf("CORSOrigins = %#v, want %#v", c.CORSOrigins, tt.want)
			}
		})
	}
}

func TestAppOrigins(t *testing.T) {
	operator := []string{"https://app.example.com"}
	for _, tt := range []struct {
		own, want []string
	}{
		{nil, operator},
		{[]string{}, []string{}},
		{[]string{"https://other.example"}, []string{"https://other.example"}},
	} {
		c := &Config{CORSOrigins: tt.own}
		if got := c.AppOrigins(operator); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("own %#v: AppOrigins = %#v, want %#v", tt.own, got, tt.want)
		}
	}
}

func TestPatchCORSOrigins(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		body    string
		before  []string
		want    []string
		changed bool
	}{
		{"absent leaves it", `{"name":"x"}`, []string{"https://a.example"}, []string{"https://a.example"}, true},
		{"set", `{"cors_origins":["https://B.example"]}`, nil, []string{"https://b.example"}, true},
		{"same", `{"cors_origins":["https://b.example"]}`, []string{"https://b.example"}, []string{"https://b.example"}, false},
		{"none", `{"cors_origins":[]}`, nil, []string{}, true},
		{"null: the operator's", `{"cors_origins":null}`, []string{}, nil, true},
		{"null when already", `{"cors_origins":null}`, nil, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			c := &Config{Name: "before", CORSOrigins: tt.before}
			if changed := p.Apply(c, now); changed != tt.changed {
				t.Errorf("Apply changed = %t, want %t", changed, tt.changed)
			}
			if !reflect.DeepEqual(c.CORSOrigins, tt.want) {
				t.Errorf("CORSOrigins = %#v, want %#v", c.CORSOrigins, tt.want)
			}
		})
	}
	_, err := ParsePatch([]byte(`{"cors_origins":["https://a.example/path"]}`))
	if fe := fieldErrors(t, err); len(fe["cors_origins"]) != 1 {
		t.Errorf("PATCH with a path in an origin: %v, want an error on cors_origins", fe)
	}
}

func TestToResponseCORSOrigins(t *testing.T) {
	for _, tt := range []struct {
		own  []string
		want string
	}{
		{nil, `"cors_origins":null`},
		{[]string{}, `"cors_origins":[]`},
		{[]string{"https://a.example"}, `"cors_origins":["https://a.example"]`},
	} {
		c := &Config{UID: "u", CORSOrigins: tt.own}
		raw, err := json.Marshal(ToResponse(c))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), tt.want) {
			t.Errorf("own %#v: %s, want %s", tt.own, raw, tt.want)
		}
		var back Response
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.CORSOrigins, tt.own) || back.AccessMode != "read_write" {
			t.Errorf("own %#v: read back %#v, access mode %q", tt.own, back.CORSOrigins, back.AccessMode)
		}
		if _, stray := back.Fields["access_mode"]; stray {
			t.Errorf("access_mode read back among the provider's fields: %v", back.Fields)
		}
	}
}

// fieldErrors returns err's field errors, failing t when it has none.
func fieldErrors(t *testing.T, err error) errcode.FieldErrors {
	t.Helper()
	fe, ok := err.(errcode.FieldErrors)
	if !ok || len(fe) == 0 {
		t.Fatalf("got %v, want field errors", err)
	}
	return fe
}
