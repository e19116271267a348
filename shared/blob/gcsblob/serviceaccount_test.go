package gcsblob

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestValidateServiceAccountJSON(t *testing.T) {
	fields := ServiceAccountFields(t)
	privateKey := fields["private_key"].(string)
	email := fields["client_email"].(string)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(RSAKey(t))}))

	with := func(edit func(map[string]any)) string { return ServiceAccountJSON(t, edit) }
	set := func(k string, v any) string { return with(func(f map[string]any) { f[k] = v }) }
	del := func(keys ...string) string {
		return with(func(f map[string]any) {
			for _, k := range keys {
				delete(f, k)
			}
		})
	}
	valid := with(nil)
	tests := []struct {
		name string
		json string
		want []string // substrings, one per expected problem, in order
	}{
		{name: "valid", json: valid},
		{name: "valid with PKCS1 key", json: set("private_key", pkcs1)},
		{name: "valid with surrounding space", json: "\n  " + valid + "\n"},
		{name: "empty", json: "", want: []string{"is empty"}},
		{name: "blank", json: " \t\n", want: []string{"is empty"}},
		{name: "truncated", json: valid[:len(valid)/2], want: []string{"not valid JSON"}},
		{name: "syntax error", json: `{"type": service_account}`, want: []string{"syntax error at byte"}},
		{name: "array", json: `[1, 2]`, want: []string{"must be a JSON object"}},
		{name: "string", json: `"service_account"`, want: []string{"must be a JSON object"}},
		{name: "trailing data", json: valid + `{}`, want: []string{"after its closing brace"}},
		{name: "private_key not a string", json: set("private_key", 42), want: []string{`"private_key" must be a string`}},
		{name: "type missing", json: del("type"), want: []string{`no "type"`}},
		{name: "authorized user", json: set("type", "authorized_user"), want: []string{`"type" is "authorized_user"`}},
		{name: "unknown type not echoed", json: set("type", "hunter2-secret"), want: []string{`"type" is not "service_account"`}},
		{name: "client_email missing", json: del("client_email"), want: []string{`no "client_email"`}},
		{name: "client_email not an address", json: set("client_email", "nobody"), want: []string{`"client_email" is not an email address`}},
		{name: "project_id missing", json: del("project_id"), want: []string{`no "project_id"`}},
		{name: "project_id blank", json: set("project_id", " "), want: []string{`no "project_id"`}},
		{name: "private_key missing", json: del("private_key"), want: []string{`no "private_key"`}},
		{name: "private_key not PEM", json: set("private_key", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), want: []string{"not PEM-encoded"}},
		{name: "private_key PEM garbage", json: set("private_key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), want: []string{"not a readable RSA private key"}},
		{name: "private_key EC", json: set("private_key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))), want: []string{"not an RSA key"}},
		{
			name: "several problems",
			json: with(func(f map[string]any) {
				f["type"] = "external_account"
				delete(f, "client_email")
				delete(f, "project_id")
				f["private_key"] = "nope"
			}),
			want: []string{`"type" is "external_account"`, `no "client_email"`, `no "project_id"`, "not PEM-encoded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateServiceAccountJSON(tt.json)
			if len(got) != len(tt.want) {
				t.Fatalf("ValidateServiceAccountJSON = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, p := range got {
				if !strings.Contains(p, tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, tt.want[i])
				}
				if !strings.HasSuffix(p, ".") {
					t.Errorf("problem %d = %q is not a sentence", i, p)
				}
				for _, secret := range leaks(privateKey, email, "hunter2", "MIIEvQ", "bm90IGEga2V5") {
					if strings.Contains(p, secret) {
						t.Errorf("problem %d = %q echoes %q from the key", i, p, secret)
					}
				}
			}
		})
	}
}

// leaks returns the strings no problem may contain: each line of the
// private key (minus the PEM armour), the account, and extras.
func leaks(privateKey, email string, extra ...string) []string {
	var out []string
	for _, l := range strings.Split(privateKey, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return append(append(out, email), extra...)
}
