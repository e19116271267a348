package connect_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/connect"
)

func TestTokens(t *testing.T) {
	token, s, err := connect.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := connect.CheckFormat(token); err != nil {
		t.Errorf("CheckFormat(a new token) = %v", err)
	}
	if s.Hash != connect.HashToken(token) || s.ID != connect.SessionID(s.Hash) || !strings.HasPrefix(s.ID, "cs_") {
		t.Errorf("session of a new token: %+v", s)
	}
	if strings.Contains(s.ID, token[len(connect.TokenPrefix):len(connect.TokenPrefix)+8]) {
		t.Error("the public id shows the token")
	}
	other, _, _ := connect.New()
	if other == token {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{"", token[:len(token)-1], "blk_" + token[4:], token[:10] + "!" + token[11:]} {
		if connect.CheckFormat(bad) == nil {
			t.Errorf("CheckFormat(%q) = nil, want an error", bad)
		}
	}
}

func TestStateAt(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := connect.Session{ExpiresAt: now.Add(time.Minute)}
	if got := s.StateAt(now); got != connect.Usable {
		t.Errorf("before expiry: %v", got)
	}
	if got := s.StateAt(s.ExpiresAt); got != connect.Expired {
		t.Errorf("at expiry: %v", got)
	}
	s.UsedAt = now
	if got := s.StateAt(now.Add(time.Hour)); got != connect.Used {
		t.Errorf("used, then expired: %v", got)
	}
}
