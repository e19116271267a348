package contract

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Credentials are the secrets of a config, keyed by the names each
// provider gives its parts ("access_key_id", "service_account_json"). They
// exist in plain text only in memory, between a request (or Open) and the
// provider client; sealed, they are the JSON object of this map, which is
// also how credentials were sealed before providers were packages.
//
// A part whose name ends in "_id" names a principal (an access key id, a
// client id) and is not a secret; every other part is.
type Credentials map[string]string

// Get returns the part name, "" when absent.
func (c Credentials) Get(name string) string { return c[name] }

// Secrets returns the secret strings of c, for redaction checks: every
// secret part, and the pieces of them that a message could quote on their
// own (the private key of a service-account key and its PEM lines, the
// signature of a SAS token).
func (c Credentials) Secrets() []string {
	var out []string
	add := func(s string, minLen int) {
		if s = strings.TrimSpace(s); s != "" && len(s) >= minLen {
			out = append(out, s)
		}
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range c {
			if !yield(k) {
				return
			}
		}
	}) {
		v := c[name]
		if strings.HasSuffix(name, "_id") {
			continue
		}
		add(v, 1)
		var sa struct {
			PrivateKey string `json:"private_key"`
		}
		if strings.HasPrefix(strings.TrimSpace(v), "{") && json.Unmarshal([]byte(v), &sa) == nil && sa.PrivateKey != "" {
			add(sa.PrivateKey, 1)
			for _, line := range strings.Split(sa.PrivateKey, "\n") {
				if !strings.HasPrefix(line, "-----") {
					add(line, MinPartLen)
				}
			}
		}
		for _, kv := range strings.Split(v, "&") {
			if s, ok := strings.CutPrefix(kv, "sig="); ok {
				add(s, MinPartLen)
				if dec, err := url.QueryUnescape(s); err == nil && dec != s {
					add(dec, MinPartLen)
				}
			}
		}
	}
	return out
}

// MinPartLen is the shortest piece of a secret that Secrets lists on its
// own: shorter ones could match ordinary text.
const MinPartLen = 16
