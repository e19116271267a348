package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
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
