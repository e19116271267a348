package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// verificationResponse is one entry of a config's verification history.
type verificationResponse struct {
	VerifiedAt string               `json:"verified_at"`
	Verified   bool                 `json:"verified"`
	Trigger    string               `json:"trigger"`
	Checks     []verification.Check `json:"checks"`
}

type historyResponse struct {
	Next     *string                `json:"next"`
	Previous *string                `json:"previous"`
	Results  []verificationResponse `json:"results"`
}

// verifications serves GET /api/v1/storage-configs/{uid}/verifications/:
// the config's last verifications (store.MaxHistory at most), newest
// first, paged like the list (limit, and signed next and previous links).
func (s *Server) verifications(w http.ResponseWriter, r *http.Request) {
	c, err := s.configForRequest(r, identity.ActionGet)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	errs := errcode.FieldErrors{}
	limit := parseLimit(errs, q.Get("limit"))
	var opts store.HistoryOptions
	if cur := q.Get("cursor"); cur != "" {
		var ok bool
		if opts, ok = s.historyCursor(c).decode(c.OrgID, cur); !ok {
			errs.Add("cursor", "Invalid cursor. Use the next or previous link of an earlier page of this config's verifications.")
		}
	}
	if err := errs.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	opts.Limit = limit
	page, err := s.Store.ListVerifications(r.Context(), c.OrgID, c.UID, opts)
	if err != nil {
		writeError(w, r, fmt.Errorf("list verifications of %s: %w", c.UID, err))
		return
	}
	resp := historyResponse{Results: make([]verificationResponse, 0, len(page.Items))}
	for _, v := range page.Items {
		checks := v.Checks
		if checks == nil {
			checks = []verification.Check{}
		}
		resp.Results = append(resp.Results, verificationResponse{
			VerifiedAt: storageconfig.FormatTime(v.At), Verified: v.Verified, Trigger: string(v.Trigger), Checks: checks,
		})
	}
	resp.Next, resp.Previous = s.historyLinks(r, c, opts, page)
	writeJSON(w, http.StatusOK, resp)
}

// parseLimit reads the limit query parameter as the list does: 1 or more,
// at most MaxLimit, DefaultLimit when absent.
func parseLimit(errs errcode.FieldErrors, v string) int {
	if v == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		errs.Add("limit", "Enter a whole number from 1 to %d.", MaxLimit)
	}
	return min(n, MaxLimit)
}

// historyCodec is the cursor codec of one config's history. Its key is
// derived from the server's cursor key and the config uid, so a cursor of
// one config's history (or of the list) is invalid for any other. Its
// position carries an entry's time and, in place of a uid, its sequence
// number.
type historyCodec struct{ cursorCodec }

func (s *Server) historyCursor(c *storageconfig.Config) historyCodec {
	m := hmac.New(sha256.New, s.CursorKey)
	m.Write([]byte("bucketlink verification history cursor v1\x00" + c.UID))
	return historyCodec{cursorCodec{key: m.Sum(nil)}}
}

func (h historyCodec) encode(org int64, forward bool, v store.VerificationEntry) string {
	return h.cursorCodec.encode(org, forward, store.Position{CreatedAt: v.At, UID: strconv.FormatInt(v.Seq, 10)})
}

// decode returns the page options a cursor stands for.
func (h historyCodec) decode(org int64, cur string) (store.HistoryOptions, bool) {
	lo, err := h.cursorCodec.decode(org, cur)
	if err != nil {
		return store.HistoryOptions{}, false
	}
	pos, after := lo.After, true
	if pos == nil {
		pos, after = lo.Before, false
	}
	seq, err := strconv.ParseInt(pos.UID, 10, 64)
	if err != nil || seq < 1 {
		return store.HistoryOptions{}, false
	}
	if after {
		return store.HistoryOptions{After: seq}, true
	}
	return store.HistoryOptions{Before: seq}, true
}

// historyLinks builds the next and previous links of a history page, as
// pageLinks does for the list.
func (s *Server) historyLinks(r *http.Request, c *storageconfig.Config, opts store.HistoryOptions, page store.HistoryPage) (next, prev *string) {
	codec := s.historyCursor(c)
	cursorLink := func(forward bool, v store.VerificationEntry) *string {
		q := r.URL.Query()
		q.Set("cursor", codec.encode(c.OrgID, forward, v))
		str := link(r, r.URL.Path, q)
		return &str
	}
	backward := opts.Before > 0
	if len(page.Items) == 0 {
		// An empty page past either end: offer the way back only.
		switch {
		case opts.After > 0:
			return nil, cursorLink(false, store.VerificationEntry{Seq: opts.After})
		case backward:
			return cursorLink(true, store.VerificationEntry{Seq: opts.Before}), nil
		}
		return nil, nil
	}
	if (!backward && page.More) || backward {
		next = cursorLink(true, page.Items[len(page.Items)-1])
	}
	if (backward && page.More) || opts.After > 0 {
		prev = cursorLink(false, page.Items[0])
	}
	return next, prev
}

// appendHistory records a verification of c that ended at at in its
// history. A failure is logged, not returned: the verification itself is
// stored, and the answer must say so.
func (s *Server) appendHistory(r *http.Request, c *storageconfig.Config, trigger store.Trigger, at time.Time, res verify.Result) {
	err := s.Store.AppendVerification(r.Context(), c.OrgID, c.UID, store.NewVerificationEntry(at, trigger, res.Verified(), res.Checks))
	if err != nil {
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "append verification history",
			slog.String("config", c.UID), slog.String("trigger", string(trigger)), slog.String("error", err.Error()))
	}
}
