// Package webidentityfake is a loopback stand-in for the one AWS STS
// action that moto (the STS emulator of the other tests, 5.2.5) does not
// serve: GetWebIdentityToken of IAM outbound identity federation, which
// issues a JWT of the caller's AWS identity for an external service
// (here Microsoft Entra ID's federated credentials).
//
// It is a hand-written fake because no emulator serves the action. It is
// held to the shapes AWS documents,
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetWebIdentityToken.html
// (and the request and response snapshots of aws-sdk-go-v2's service/sts):
// a SigV4-signed form POST to / with Action=GetWebIdentityToken,
// Version=2011-06-15, Audience.member.N, SigningAlgorithm (RS256 or
// ES384) and DurationSeconds (60 to 3600, default 300); the answer
// <GetWebIdentityTokenResponse><GetWebIdentityTokenResult><Expiration/>
// <WebIdentityToken/></GetWebIdentityTokenResult></GetWebIdentityTokenResponse>;
// errors <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>.
// The token is the given issuer's (entrafake.Issuer), for the given
// subject (the role ARN AWS would put there). The fake records what it
// found wrong in a request; the test fails at cleanup if anything was.
package webidentityfake

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv/entrafake"
)

// Server is a running fake.
type Server struct {
	// URL is the STS endpoint (http://127.0.0.1:port).
	URL string
	// Disabled answers OutboundWebIdentityFederationDisabledException, as
	// STS does for an account that has not enabled the federation.
	Disabled atomic.Bool

	calls atomic.Int64
	mu    sync.Mutex
	bad   []string
}

// Start serves tokens of issuer for subject until the test ends.
func Start(tb testing.TB, issuer *entrafake.Issuer, subject string) *Server {
	tb.Helper()
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, issuer, subject)
	}))
	s.URL = srv.URL
	tb.Cleanup(func() {
		srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.bad {
			tb.Errorf("webidentityfake: %s", b)
		}
	})
	return s
}

// Calls is the number of GetWebIdentityToken requests answered.
func (s *Server) Calls() int64 { return s.calls.Load() }

func (s *Server) problem(p string) {
	s.mu.Lock()
	s.bad = append(s.bad, p)
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, issuer *entrafake.Issuer, subject string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.ParseForm() != nil {
		s.problem("request " + r.Method + " " + r.URL.Path)
		writeError(w, http.StatusBadRequest, "InvalidAction", "bad request")
		return
	}
	f := r.PostForm
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=") {
		s.problem("an unsigned request")
	}
	if f.Get("Action") != "GetWebIdentityToken" || f.Get("Version") != "2011-06-15" {
		s.problem("Action " + f.Get("Action") + " Version " + f.Get("Version"))
		writeError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+f.Get("Action"))
		return
	}
	s.calls.Add(1)
	aud := f.Get("Audience.member.1")
	alg := f.Get("SigningAlgorithm")
	dur := 300
	if d := f.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 60 || n > 3600 {
			writeError(w, http.StatusBadRequest, "ValidationError", "DurationSeconds must be between 60 and 3600")
			return
		}
		dur = n
	}
	switch {
	case aud == "":
		writeError(w, http.StatusBadRequest, "ValidationError", "Audience is required")
		return
	case alg != "RS256" && alg != "ES384":
		writeError(w, http.StatusBadRequest, "ValidationError", "SigningAlgorithm must be RS256 or ES384")
		return
	case alg == "ES384":
		s.problem("ES384 asked; the fake signs RS256 only")
	case s.Disabled.Load():
		writeError(w, http.StatusForbidden, "OutboundWebIdentityFederationDisabledException", "Outbound web identity federation is disabled for this account.")
		return
	}
	ttl := time.Duration(dur) * time.Second
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"GetWebIdentityTokenResponse"`
		Result  struct {
			Expiration       string
			WebIdentityToken string
		} `xml:"GetWebIdentityTokenResult"`
	}{Result: struct {
		Expiration       string
		WebIdentityToken string
	}{time.Now().Add(ttl).UTC().Format(time.RFC3339), issuer.Token(subject, aud, ttl)}})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct {
			Type    string
			Code    string
			Message string
		}
	}{Error: struct {
		Type    string
		Code    string
		Message string
	}{"Sender", code, msg}})
}
