package lambdatest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// withSession rewrites an event to authenticate with a connect session
// (X-Connect-Session) instead of its API key.
func withSession(t *testing.T, event []byte, token string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(event, &m); err != nil {
		t.Fatal(err)
	}
	h := m["headers"].(map[string]any)
	delete(h, "x-avala-api-key")
	h["x-connect-session"] = token
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConnectSessionFunctions runs the connect-session functions' real
// bootstraps on DynamoDB Local, moto and MinIO: an admin key mints a
// session (create-connect-session), which reads setup-info and creates one
// config (create-storage-config, whose transaction marks the session used
// under its role's CONNECT# grant), and not a second; the page's own
// function serves the page.
func TestConnectSessionFunctions(t *testing.T) {
	s := newStack(t)
	mint := s.start(t, "create-connect-session", s.env("create-connect-session"))
	create := s.start(t, "create-storage-config", s.env("create-storage-config"))
	setup := s.start(t, "get-setup-info", s.env("get-setup-info"))
	page := s.start(t, "connect-page", nil)
	acme, acmeKey := s.newOrg(t, "acme")
	b := s.newBucket(t)

	resp := invokeHTTP(t, mint, s.event(t, "create-connect-session", edit{apiKey: acmeKey}))
	wantStatus(t, "mint", resp, http.StatusCreated)
	minted := decode[struct {
		Token      string `json:"token"`
		ConnectURL string `json:"connect_url"`
	}](t, resp)
	if !strings.HasPrefix(minted.Token, "bcs_") || !strings.HasSuffix(minted.ConnectURL, "/connect/#session="+minted.Token) {
		t.Fatalf("mint: body %s", resp.Body)
	}

	resp = invokeHTTP(t, setup, withSession(t, s.event(t, "get-setup-info", edit{apiKey: "replaced"}), minted.Token))
	wantStatus(t, "setup-info with the session", resp, http.StatusOK)
	info := decode[struct {
		ExternalID     string `json:"external_id"`
		ConnectSession struct {
			OrganizationID int64 `json:"organization_id"`
		} `json:"connect_session"`
	}](t, resp)
	if info.ExternalID != acme.ExternalID || info.ConnectSession.OrganizationID != acme.ID {
		t.Errorf("setup-info with the session: body %s", resp.Body)
	}

	event := withSession(t, s.event(t, "create-storage-config", edit{apiKey: "replaced", bucket: b}), minted.Token)
	resp = invokeHTTP(t, create, event)
	wantStatus(t, "create with the session", resp, http.StatusCreated)
	resp = invokeHTTP(t, create, event)
	wantStatus(t, "second create with the session", resp, http.StatusForbidden)
	if !strings.Contains(resp.Body, "already been used") {
		t.Errorf("second create: body %s", resp.Body)
	}
	// A session cannot mint another.
	resp = invokeHTTP(t, mint, withSession(t, s.event(t, "create-connect-session", edit{apiKey: "replaced"}), minted.Token))
	wantStatus(t, "mint with a session", resp, http.StatusForbidden)

	resp = invokeHTTP(t, page, s.event(t, "connect-page", edit{}))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") ||
		!strings.Contains(resp.Body, "Connect your bucket") {
		t.Errorf("page: %d %v %.200s", resp.StatusCode, resp.Headers, resp.Body)
	}
}
