package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bucketlink/bucketlink/shared/store"
)

// Cursors are opaque to clients: base64url(JSON payload) "." base64url(MAC).
// The MAC (HMAC-SHA256, truncated to 128 bits) covers the payload, which
// names the org, so a cursor cannot be forged, altered or replayed against
// another org's listing.

type cursorPayload struct {
	V   int    `json:"v"`
	Org int64  `json:"o"`
	Dir string `json:"d"` // "n": older than Pos; "p": newer than Pos
	TS  int64  `json:"t"` // CreatedAt, Unix microseconds
	UID string `json:"u"`
}

const macLen = 16

var errBadCursor = errors.New("invalid cursor")

// cursorCodec signs and checks cursors with one key.
type cursorCodec struct{ key []byte }

func (c cursorCodec) encode(org int64, forward bool, p store.Position) string {
	dir := "p"
	if forward {
		dir = "n"
	}
	payload, _ := json.Marshal(cursorPayload{V: 1, Org: org, Dir: dir, TS: p.CreatedAt.UnixMicro(), UID: p.UID})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.mac(payload))
}

func (c cursorCodec) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("bucketlink cursor v1\x00"))
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

// decode checks a cursor for org and returns the list options it stands for.
func (c cursorCodec) decode(org int64, s string) (store.ListOptions, error) {
	enc := base64.RawURLEncoding
	body, sig, ok := strings.Cut(s, ".")
	if !ok {
		return store.ListOptions{}, errBadCursor
	}
	payload, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(payload)) {
		return store.ListOptions{}, errBadCursor
	}
	var p cursorPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.V != 1 || p.Org != org || p.UID == "" {
		return store.ListOptions{}, errBadCursor
	}
	pos := &store.Position{CreatedAt: time.UnixMicro(p.TS).UTC(), UID: p.UID}
	switch p.Dir {
	case "n":
		return store.ListOptions{After: pos}, nil
	case "p":
		return store.ListOptions{Before: pos}, nil
	}
	return store.ListOptions{}, errBadCursor
}

// Links. The absolute URLs the API writes (next and previous of the list
// and of a config's verifications, Location of a create) start with the
// API's public base URL, which the operator configures (WithPublicURL:
// `bucketlink serve --public-url`) or the platform vouches for
// (WithPublicURLOf: on Lambda, the API Gateway domain of the request),
// never with the request's Host or X-Forwarded-* headers, which the
// client chooses: a link on an attacker's host would carry the next
// request, API key and all, there. Without a base the links are
// relative (path and query), which a client resolves against the URL it
// called.

type publicURLKey struct{}

// WithPublicURL returns h with base (scheme, host and an optional path
// prefix; see ParsePublicURL) as the public base URL of its links.
func WithPublicURL(h http.Handler, base *url.URL) http.Handler {
	b := *base
	return WithPublicURLOf(h, func(*http.Request) (*url.URL, bool) { return &b, true })
}

// WithPublicURLOf returns h with the public base URL of each request's
// links given by of; when of reports false, the links are relative.
func WithPublicURLOf(h http.Handler, of func(*http.Request) (*url.URL, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if base, ok := of(r); ok {
			r = r.WithContext(context.WithValue(r.Context(), publicURLKey{}, base))
		}
		h.ServeHTTP(w, r)
	})
}

// ParsePublicURL checks a public base URL: absolute http or https, with
// a host, and no user, query or fragment; a path is a prefix that links
// keep (behind a proxy that strips it). A trailing slash is dropped.
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return nil, fmt.Errorf("public URL %q: %w", s, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Hostname() == "":
		return nil, fmt.Errorf("public URL %q: want an absolute http or https URL such as https://api.example.com", s)
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return nil, fmt.Errorf("public URL %q: no user, query or fragment", s)
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	return u, nil
}

// link returns the URL of path with query on the request's public base
// URL, or relative when it has none.
func link(r *http.Request, path string, query url.Values) string {
	u := url.URL{Path: path, RawQuery: query.Encode()}
	if base, ok := r.Context().Value(publicURLKey{}).(*url.URL); ok {
		u.Scheme, u.Host, u.Path = base.Scheme, base.Host, base.Path+path
	}
	return u.String()
}
