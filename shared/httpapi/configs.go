package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/connect"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/policy"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// Page sizes of the list endpoint.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

type listResponse struct {
	Next     *string                  `json:"next"`
	Previous *string                  `json:"previous"`
	Results  []storageconfig.Response `json:"results"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	org, err := s.orgForRequest(r, p, identity.ActionList)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	errs := errcode.FieldErrors{}
	limit := DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs.Add("limit", "Enter a whole number from 1 to %d.", MaxLimit)
		}
		limit = min(n, MaxLimit)
	}
	var opts store.ListOptions
	if c := q.Get("cursor"); c != "" {
		if opts, err = (cursorCodec{s.CursorKey}).decode(org.ID, c); err != nil {
			errs.Add("cursor", "Invalid cursor. Use the next or previous link of an earlier page of this organization.")
		}
	}
	if err := errs.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	opts.Limit = limit
	page, err := s.Store.ListConfigs(r.Context(), org.ID, opts)
	if err != nil {
		writeError(w, r, fmt.Errorf("list configs of org %d: %w", org.ID, err))
		return
	}
	resp := listResponse{Results: make([]storageconfig.Response, 0, len(page.Items))}
	for _, c := range page.Items {
		resp.Results = append(resp.Results, storageconfig.ToResponse(c))
	}
	resp.Next, resp.Previous = s.pageLinks(r, org.ID, opts, page)
	writeJSON(w, http.StatusOK, resp)
}

// pageLinks builds the absolute next and previous URLs of a page.
func (s *Server) pageLinks(r *http.Request, orgID int64, opts store.ListOptions, page store.Page) (next, prev *string) {
	codec := cursorCodec{s.CursorKey}
	cursorLink := func(forward bool, pos store.Position) *string {
		q := r.URL.Query()
		q.Set("cursor", codec.encode(orgID, forward, pos))
		str := link(r, r.URL.Path, q)
		return &str
	}
	backward := opts.Before != nil
	moreOlder := (!backward && page.More) || backward
	moreNewer := (backward && page.More) || opts.After != nil
	if len(page.Items) == 0 {
		// An empty page past either end: offer the way back only.
		switch {
		case opts.After != nil:
			return nil, cursorLink(false, *opts.After)
		case opts.Before != nil:
			return cursorLink(true, *opts.Before), nil
		}
		return nil, nil
	}
	if moreOlder {
		next = cursorLink(true, store.PositionOf(page.Items[len(page.Items)-1]))
	}
	if moreNewer {
		prev = cursorLink(false, store.PositionOf(page.Items[0]))
	}
	return next, prev
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
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
	defer clear(body) // it holds the credentials
	cfg, creds, err := storageconfig.ParseCreate(body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	cfg.UID = uuid.NewString()
	cfg.OrgID = org.ID
	if err := s.checksConfigured(); err != nil {
		writeError(w, r, err)
		return
	}
	res := s.Verifier.Verify(r.Context(), cfg, creds)
	logChecks(r, "create", cfg, res)
	if !res.Verified() {
		writeError(w, r, res.Errors)
		return
	}
	now := s.now()
	cfg.IsVerified, cfg.LastVerifiedAt, cfg.CreatedAt, cfg.UpdatedAt, cfg.Version = true, now, now, now, 1
	cfg.NextReverifyAt = storageconfig.NextDue(now, cfg.ReverifyInterval, 0)
	plain, err := json.Marshal(creds)
	if err != nil {
		writeError(w, r, fmt.Errorf("encode credentials: %w", err))
		return
	}
	defer clear(plain) // on every path, the seal error's too
	if cfg.Sealed, err = s.Sealer.Seal(r.Context(), plain, seal.Binding{OrgID: org.ID, ConfigUID: cfg.UID}); err != nil {
		writeError(w, r, fmt.Errorf("seal credentials of %s: %w", cfg.UID, err))
		return
	}
	if err := s.storeNewConfig(r, p, cfg, now); err != nil {
		writeError(w, r, fmt.Errorf("store config %s: %w", cfg.UID, err))
		return
	}
	s.appendHistory(r, cfg, store.TriggerCreate, now, res)
	w.Header().Set("Location", link(r, r.URL.Path+cfg.UID+"/", nil))
	writeJSON(w, http.StatusCreated, checkedResponse{Response: storageconfig.ToResponse(cfg), CORS: res.CORS})
}

// checkedResponse is the answer of a create, and of a PATCH that ran the
// checks (new provider fields): the config as stored and, when the CORS
// check ran (the config's or the operator's app origins), its outcome as
// the additive field "cors", the shape of bucket-verify's. A CORS problem
// is a warning: it never fails a create or an edit.
type checkedResponse struct {
	storageconfig.Response
	CORS *corscheck.Report
}

func (r checkedResponse) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.Response)
	if err != nil || r.CORS == nil {
		return b, err
	}
	c, err := json.Marshal(r.CORS)
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"cors":`...)
	return append(append(b, c...), '}'), nil
}

// readBody reads at most MaxBodyBytes, answering 413 beyond. The caller
// clears the body when it may hold credentials (readAllClearing).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := readAllClearing(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errcode.New(errcode.TooLarge, "Request body is too large; the limit is %d bytes.", MaxBodyBytes)
	case err != nil:
		return nil, errcode.FieldErrors{errcode.NonField: {"The request body could not be read."}}
	}
	return body, nil
}

// readAllClearing is io.ReadAll for bodies that hold credentials: the
// buffers it outgrows, and the partial body when reading fails, are
// cleared rather than left to the garbage collector, so that the only
// copy of the body left in this package's hands is the one returned,
// which the caller clears (defer clear(body)). It cannot clear the
// copies others keep: net/http's read buffers, encoding/json's pooled
// encode buffer, and the strings (keys, tokens) parsed from the body,
// which Go cannot overwrite.
func readAllClearing(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), 2*cap(buf))
			copy(grown, buf)
			clear(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			clear(buf)
			return nil, err
		}
	}
}

// configForRequest authenticates, loads the {uid} config and checks that the
// caller's role in the config's org allows the action. A uid that is not a
// UUID, or that does not exist, is 404; a config of another org is 403.
func (s *Server) configForRequest(r *http.Request, a identity.Action) (*storageconfig.Config, error) {
	c, _, err := s.configAndPrincipal(r, a)
	return c, err
}

// configAndPrincipal is configForRequest that also returns who asked.
func (s *Server) configAndPrincipal(r *http.Request, a identity.Action) (*storageconfig.Config, *identity.Principal, error) {
	p, err := s.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	uid := r.PathValue("uid")
	if u, err := uuid.Parse(uid); err != nil || u.String() != uid {
		return nil, nil, errcode.ErrNotFound
	}
	c, err := s.Store.GetConfig(r.Context(), uid)
	if err != nil {
		return nil, nil, fmt.Errorf("get config %s: %w", uid, err)
	}
	if err := allow(p, c.OrgID, a); err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c, err := s.configForRequest(r, identity.ActionGet)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, storageconfig.ToResponse(c))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	c, err := s.configForRequest(r, identity.ActionDelete)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.Store.DeleteConfig(r.Context(), c.OrgID, c.UID); err != nil {
		writeError(w, r, fmt.Errorf("delete config %s: %w", c.UID, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type testResponse struct {
	Verified bool                 `json:"verified"`
	Errors   errcode.FieldErrors  `json:"errors,omitempty"`
	Checks   []verification.Check `json:"checks"`
	// CORS is additive: the CORS check's outcome when it ran (see
	// checkedResponse); it does not change Verified.
	CORS *corscheck.Report `json:"cors,omitempty"`
}

func (s *Server) test(w http.ResponseWriter, r *http.Request) {
	c, err := s.configForRequest(r, identity.ActionTest)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.checksConfigured(); err != nil {
		writeError(w, r, err)
		return
	}
	creds, err := storageconfig.OpenCredentials(r.Context(), s.Sealer, c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res := s.Verifier.Verify(r.Context(), c, creds)
	logChecks(r, "test", c, res)
	changed, err := s.recordVerification(r, c, res.Verified())
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.appendHistory(r, c, store.TriggerTest, c.LastVerifiedAt, res)
	if changed {
		s.publishChange(r, c, res, store.TriggerTest)
	}
	writeJSON(w, http.StatusOK, testResponse{Verified: res.Verified(), Errors: res.Errors, Checks: res.Checks, CORS: res.CORS})
}

// recordVerification stores the outcome (and the next re-verification it
// sets, storageconfig.Config.RecordVerification), retrying when a
// concurrent update won the race. A config deleted meanwhile stays deleted
// (404).
func (s *Server) recordVerification(r *http.Request, c *storageconfig.Config, ok bool) (changed bool, err error) {
	for attempt := 0; ; attempt++ {
		changed = c.RecordVerification(s.now(), ok)
		err := s.Store.UpdateConfig(r.Context(), c)
		if !errors.Is(err, errcode.ErrConflict) || attempt == 4 {
			if err != nil {
				return false, fmt.Errorf("record verification of %s: %w", c.UID, err)
			}
			return changed, nil
		}
		fresh, err := s.Store.GetConfig(r.Context(), c.UID)
		if err != nil {
			return false, fmt.Errorf("reload config %s: %w", c.UID, err)
		}
		*c = *fresh
	}
}

func logChecks(r *http.Request, trigger string, c *storageconfig.Config, res verify.Result) {
	codes := make([]string, 0, len(res.Checks))
	for _, ch := range res.Checks {
		codes = append(codes, ch.Name+"="+ch.Code)
	}
	logger(r.Context()).Info("verification", slog.String("trigger", trigger), slog.String("config", c.UID),
		slog.Int64("org", c.OrgID), slog.Bool("verified", res.Verified()), slog.Any("checks", codes))
}

type setupInfoResponse struct {
	AWSAccountID string `json:"avala_aws_account_id"`
	ExternalID   string `json:"external_id"`
	// ConnectSession is additive: the session of a caller that
	// authenticated with one (connect.go).
	ConnectSession *sessionInfo `json:"connect_session,omitempty"`
	// GCStoragePrincipal (additive, absent when not configured) is
	// bucketlink's own Google principal, which a customer grants
	// roles/iam.serviceAccountTokenCreator on the service account a
	// gc_storage impersonation config names.
	GCStoragePrincipal string `json:"gc_storage_principal,omitempty"`
	// AzureFederatedCredential (additive, absent when not configured) is
	// the federated identity credential a customer adds to the Entra ID
	// application of an azure_blob workload_identity config.
	AzureFederatedCredential *azureFederatedCredential `json:"azure_federated_credential,omitempty"`
	// Guidance (an addition) is the grant of the bucket that the query
	// names (provider, bucket, prefix, access_mode); absent without them.
	Guidance *policy.Guidance `json:"guidance,omitempty"`
}

func (s *Server) setupInfo(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	org, err := s.orgForRequest(r, p, identity.ActionSetupInfo)
	if err != nil {
		writeError(w, r, err)
		return
	}
	g, err := setupGuidance(r.URL.Query(), s.AWSAccountID, org)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp := setupInfoResponse{AWSAccountID: s.AWSAccountID, ExternalID: org.ExternalID, GCStoragePrincipal: s.GCPPrincipal, Guidance: g}
	if f := s.AzureFederation; f.Issuer != "" && f.Subject != "" {
		resp.AzureFederatedCredential = &azureFederatedCredential{Issuer: f.Issuer, Subject: f.Subject, Audience: azure.FederationAudience}
	}
	if cs := p.Session; cs != nil {
		resp.ConnectSession = &sessionInfo{ID: cs.ID, Purpose: cs.Purpose, OrganizationID: org.ID, Organization: org.Slug, ExpiresAt: cs.ExpiresAt}
		if cs.Purpose == connect.PurposeRotate {
			resp.ConnectSession.ConfigUID = cs.ConfigUID
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// publishChange announces a flip of is_verified caused by test/ or by a
// PATCH that ran the checks. A failure to publish is logged: the
// verification itself is already stored.
func (s *Server) publishChange(r *http.Request, c *storageconfig.Config, res verify.Result, trigger store.Trigger) {
	if s.Events == nil {
		return
	}
	change := changeevents.Change{
		OrgID: c.OrgID, UID: c.UID, Previous: !c.IsVerified, New: c.IsVerified,
		CheckCodes: changeevents.CheckCodes(res.Checks), Trigger: string(trigger), Time: c.LastVerifiedAt,
	}
	if o, err := s.Store.GetOrgByID(r.Context(), c.OrgID); err == nil {
		change.Organization = o.Slug
	}
	if err := s.Events.Publish(r.Context(), change); err != nil {
		logger(r.Context()).Error("publish change", slog.String("config", c.UID), slog.String("error", err.Error()))
	}
}

// checksConfigured reports a server that cannot run the checks of create
// and test: a process wired without a Verifier or a Sealer (an AWS
// function that serves other routes) answers them 500 and logs why.
func (s *Server) checksConfigured() error {
	if s.Verifier == nil || s.Sealer == nil {
		return errors.New("storage-config checks are not configured: Server.Verifier or Server.Sealer is missing")
	}
	return nil
}

// AzureFederation is the issuer and subject of the tokens bucketlink signs
// in to Entra ID with for azure_blob workload_identity configs (on AWS,
// the account's outbound identity federation issuer, and the role of the
// functions that verify).
type AzureFederation struct{ Issuer, Subject string }

// azureFederatedCredential is setup-info's azure_federated_credential.
type azureFederatedCredential struct {
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Audience string `json:"audience"`
}
