package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/connectpage"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// ConnectSessionsPath is the route that mints connect sessions.
const ConnectSessionsPath = "/api/v1/connect-sessions/"

// HeaderConnectSession carries a connect-session token instead of an API
// key. A request that sends it is authenticated by it alone, and only on
// the routes sessionRole lists.
const HeaderConnectSession = "X-Connect-Session"

// ConnectPagePath is where the connect page is served; connect_url
// points there.
const ConnectPagePath = connectpage.Path

// The answers to a session that cannot be used, in the {"detail": ...}
// shape (and the {success, error} shape on the bucket-verify routes).
const (
	detailSessionInvalid = "Invalid connect session."
	detailSessionExpired = "This connect session has expired; ask for a new one."
	detailSessionUsed    = "This connect session has already been used."
	detailSessionScope   = "A connect session does not allow this request."
)

// sessionDenied is an authentication or permission failure of a connect
// session, whose message is shown as it is.
type sessionDenied struct {
	code errcode.Code
	msg  string
}

func (e *sessionDenied) Error() string { return "connect session: " + e.msg }
func (e *sessionDenied) Unwrap() error { return errcode.New(e.code, "%s", e.msg) }

// deniedDetail is the message of a sessionDenied in err's chain, or fallback.
func deniedDetail(err error, fallback string) string {
	var d *sessionDenied
	if errors.As(err, &d) {
		return d.msg
	}
	return fallback
}

type connectSessionRequest struct {
	Purpose connect.Purpose `json:"purpose"`
	// ConfigUID is the config a rotate session may rotate (additive;
	// required with purpose rotate, refused with create).
	ConfigUID *string `json:"config_uid"`
	// ExpiresIn is a JSON number read as given, so that any integer JSON
	// spells (636, 636.0, 6.36e2: JSON Schema's integer) is accepted, and
	// anything else is refused on this field rather than on the body.
	ExpiresIn json.RawMessage `json:"expires_in"`
	// expiresIn is ExpiresIn parsed; nil when absent or null.
	expiresIn *int
}

type connectSessionResponse struct {
	ID           string          `json:"id"`
	Token        string          `json:"token"`
	Organization string          `json:"organization"`
	Purpose      connect.Purpose `json:"purpose"`
	// ConfigUID is the config of a rotate session (additive; absent for
	// create).
	ConfigUID  string    `json:"config_uid,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
	ConnectURL string    `json:"connect_url"`
}

// createConnectSession serves POST /api/v1/connect-sessions/: an admin API
// key (never a session) mints a session of the org for one purpose (a
// rotate session for one config of the org, config_uid), by default for
// connect.DefaultTTL. The token is in this answer only; the store keeps
// its hash.
func (s *Server) createConnectSession(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(HeaderConnectSession) != "" {
		writeError(w, r, &sessionDenied{errcode.PermissionDenied, detailSessionScope})
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	org, err := s.orgForRequest(r, p, identity.ActionCreate)
	if err != nil {
		writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	req, err := parseConnectSessionRequest(body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Purpose == connect.PurposeRotate {
		c, err := s.Store.GetConfig(r.Context(), *req.ConfigUID)
		switch {
		case errors.Is(err, errcode.ErrNotFound) || err == nil && c.OrgID != org.ID:
			writeError(w, r, fieldError("config_uid", "No storage config of this organization has this uid."))
			return
		case err != nil:
			writeError(w, r, fmt.Errorf("get config %s: %w", *req.ConfigUID, err))
			return
		}
	}
	token, cs, err := connect.New()
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := s.now()
	ttl := connect.DefaultTTL
	if req.expiresIn != nil {
		ttl = time.Duration(*req.expiresIn) * time.Second
	}
	cs.OrgID, cs.Purpose, cs.CreatedBy, cs.CreatedAt, cs.ExpiresAt = org.ID, req.Purpose, p.KeyID, now, now.Add(ttl)
	if req.Purpose == connect.PurposeRotate {
		cs.ConfigUID = *req.ConfigUID
	}
	if err := s.Store.CreateConnectSession(r.Context(), cs); err != nil {
		writeError(w, r, fmt.Errorf("store connect session %s: %w", cs.ID, err))
		return
	}
	logger(r.Context()).Info("connect session created", slog.String("session", cs.ID),
		slog.Int64("org", org.ID), slog.String("purpose", string(cs.Purpose)), slog.String("key_id", p.KeyID),
		slog.String("config", cs.ConfigUID))
	writeJSON(w, http.StatusCreated, connectSessionResponse{
		ID: cs.ID, Token: token, Organization: org.Slug, Purpose: cs.Purpose, ConfigUID: cs.ConfigUID, ExpiresAt: cs.ExpiresAt,
		// The token rides in the fragment, which browsers never send.
		ConnectURL: link(r, ConnectPagePath, nil) + "#session=" + token,
	})
}

func parseConnectSessionRequest(body []byte) (connectSessionRequest, error) {
	var req connectSessionRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, fieldError(errcode.NonField, "Send a JSON object with purpose, config_uid for rotate and, optionally, expires_in.")
		}
	}
	errs := errcode.FieldErrors{}
	switch req.Purpose {
	case connect.PurposeCreate:
		if req.ConfigUID != nil {
			errs.Add("config_uid", "Only used with purpose rotate; remove it.")
		}
	case connect.PurposeRotate:
		if u, err := uuid.Parse(deref(req.ConfigUID)); err != nil || u.String() != deref(req.ConfigUID) {
			errs.Add("config_uid", "This field is required with purpose rotate: the uid of the storage config to rotate.")
		}
	case "":
		errs.Add("purpose", "This field is required: create or rotate.")
	default:
		errs.Add("purpose", "Unsupported purpose %q: use create or rotate.", req.Purpose)
	}
	lo, hi := int(connect.MinTTL/time.Second), int(connect.MaxTTL/time.Second)
	if raw := strings.TrimSpace(string(req.ExpiresIn)); raw != "" && raw != "null" {
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || raw[0] == '"' || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			errs.Add("expires_in", "Enter a whole number of seconds from %d to %d.", lo, hi)
		} else {
			n := int(f)
			req.expiresIn = &n
		}
	}
	return req, errs.Err()
}

// sessionRole is the role a connect session cs has on the route of r, or
// false for every route it may not call: any session may read setup-info
// and run the bucket-verify API with credentials (as a member, so never on
// a stored config's credentials beyond it); a create session may create
// one config; a rotate session may read and PATCH its one config, and
// nothing of any other.
func sessionRole(r *http.Request, cs *connect.Session) (identity.Role, bool) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "/api/v1/storage-configs/setup-info" && r.Method == http.MethodGet:
		return identity.RoleViewer, true
	case p == "/api/v1/storage-configs" && r.Method == http.MethodPost:
		return identity.RoleAdmin, cs.Purpose == connect.PurposeCreate
	case cs.Purpose == connect.PurposeRotate && cs.ConfigUID != "" && p == "/api/v1/storage-configs/"+cs.ConfigUID:
		switch r.Method {
		case http.MethodGet:
			return identity.RoleViewer, true
		case http.MethodPatch:
			return identity.RoleAdmin, true
		}
		return "", false
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/v1/api/organizations/") && strings.HasSuffix(p, "/buckets/verify"):
		org := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/api/organizations/"), "/buckets/verify")
		return identity.RoleMember, org != "" && !strings.Contains(org, "/")
	}
	return "", false
}

// authenticateSession resolves a connect-session token to a principal
// whose one membership is the session's org, with the role sessionRole
// gives the route. Malformed and unknown tokens are 401, expired ones 401
// with their own message; used ones, and routes a session may not call,
// 403.
func (s *Server) authenticateSession(r *http.Request, token string) (*identity.Principal, error) {
	if connect.CheckFormat(token) != nil {
		return nil, &sessionDenied{errcode.Unauthenticated, detailSessionInvalid}
	}
	cs, err := s.Store.GetConnectSession(r.Context(), connect.HashToken(token))
	switch {
	case errors.Is(err, errcode.ErrNotFound):
		return nil, &sessionDenied{errcode.Unauthenticated, detailSessionInvalid}
	case err != nil:
		return nil, fmt.Errorf("look up connect session: %w", err)
	}
	switch cs.StateAt(s.now()) {
	case connect.Used:
		return nil, &sessionDenied{errcode.PermissionDenied, detailSessionUsed}
	case connect.Expired:
		return nil, &sessionDenied{errcode.Unauthenticated, detailSessionExpired}
	}
	role, ok := sessionRole(r, cs)
	if !ok {
		return nil, &sessionDenied{errcode.PermissionDenied, detailSessionScope}
	}
	logger(r.Context()).Debug("authenticated", slog.String("connect_session", cs.ID))
	return &identity.Principal{
		UserID:      "connect-session:" + cs.ID,
		KeyID:       cs.ID,
		Memberships: []identity.Membership{{UserID: "connect-session:" + cs.ID, OrgID: cs.OrgID, Role: role}},
		Session:     cs,
	}, nil
}

// sessionInfo is what setup-info adds for a connect session: the page
// learns its org and purpose from it.
type sessionInfo struct {
	ID      string          `json:"id"`
	Purpose connect.Purpose `json:"purpose"`
	// ConfigUID is the config of a rotate session; absent for create.
	ConfigUID      string    `json:"config_uid,omitempty"`
	OrganizationID int64     `json:"organization_id"`
	Organization   string    `json:"organization"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// storeNewConfig stores a created config: for a connect session, with
// CreateConfigForSession, which uses the session in the same write; a
// session used (or expired) meanwhile answers as it would have at
// authentication, and nothing is stored.
func (s *Server) storeNewConfig(r *http.Request, p *identity.Principal, c *storageconfig.Config, now time.Time) error {
	cs := p.Session
	if cs == nil {
		return s.Store.CreateConfig(r.Context(), c)
	}
	err := s.Store.CreateConfigForSession(r.Context(), c, cs.Hash, now)
	switch {
	case !errors.Is(err, errcode.ErrConflict):
		return err
	case !now.Before(cs.ExpiresAt):
		return &sessionDenied{errcode.Unauthenticated, detailSessionExpired}
	}
	return &sessionDenied{errcode.PermissionDenied, detailSessionUsed}
}

// routeConnectPage serves the connect page (package connectpage) and its
// two assets, each a route of its own in template.yaml.
func routeConnectPage(mux *http.ServeMux) {
	page := connectpage.Handler()
	for _, p := range []string{"/connect/{$}", "/connect/connect.js", "/connect/connect.css"} {
		mux.Handle(p, page)
	}
}

// updateConfig writes c as UpdateConfig does, for p: with a rotate
// connect session, with UpdateConfigForSession, which uses the session in
// the same write; a session used (or expired) meanwhile answers as it
// would have at authentication, and nothing is written. A version
// conflict is returned as UpdateConfig's (errcode.ErrConflict).
func (s *Server) updateConfig(r *http.Request, p *identity.Principal, c *storageconfig.Config, now time.Time) error {
	cs := p.Session
	if cs == nil {
		return s.Store.UpdateConfig(r.Context(), c)
	}
	err := s.Store.UpdateConfigForSession(r.Context(), c, cs.Hash, now)
	if !errors.Is(err, errcode.ErrConflict) {
		return err
	}
	fresh, gerr := s.Store.GetConnectSession(r.Context(), cs.Hash)
	switch {
	case gerr != nil:
		return fmt.Errorf("reread connect session %s: %w", cs.ID, gerr)
	case fresh.StateAt(now) == connect.Used:
		return &sessionDenied{errcode.PermissionDenied, detailSessionUsed}
	case fresh.StateAt(now) == connect.Expired:
		return &sessionDenied{errcode.Unauthenticated, detailSessionExpired}
	}
	return err // the version moved
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
