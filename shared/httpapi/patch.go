package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// actionEdit is what editing a config needs: what creating one does (the
// admin role). A bucket-verify request that takes a stored config's
// credentials beyond the config needs it too.
const actionEdit = identity.ActionCreate

// patchAttempts bounds the reloads when a concurrent update (a test, the
// scheduler's claim, another rename) wins the race for the version.
const patchAttempts = 5

// errEditedMeanwhile answers a rotation or settings change that lost the
// race to another one: what it checked is no longer what is stored.
var errEditedMeanwhile = errcode.New(errcode.Conflict,
	"Another request changed this storage config's credentials or settings meanwhile; nothing was changed. Read the config again and retry.")

// patch serves PATCH /api/v1/storage-configs/{uid}/: an admin renames a
// config, changes (or switches off) its re-verification interval or its
// access mode, or edits its provider fields: new credentials (a
// rotation), a new bucket, region, prefix or endpoint
// (storageconfig.ParsePatchFor). It answers 200 with the config as
// stored. Editing needs what creating does: the admin role.
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	c, who, err := s.configAndPrincipal(r, actionEdit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer clear(body) // it may hold credentials
	p, err := storageconfig.ParsePatchFor(body, c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if who.Session != nil && !p.Rotates() {
		// A rotate session is for new credentials (and what goes with
		// them), which the page always sends.
		writeError(w, r, fieldError(errcode.NonField, "A rotate connect session's PATCH must carry new credentials."))
		return
	}
	if p.Settings != nil {
		s.edit(w, r, c, who, p)
		return
	}
	// Deleted meanwhile: the reload's ErrNotFound, 404.
	if err := store.UpdateConfigWith(r.Context(), s.Store, c, patchAttempts, func(c *storageconfig.Config) bool {
		return p.Apply(c, s.now())
	}); err != nil {
		writeError(w, r, fmt.Errorf("patch: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, storageconfig.ToResponse(c))
}

// edit serves a PATCH that changes c's provider settings or credentials:
// "verify, then update". The checks run first on the new settings, with
// the new credentials of a rotation or the stored ones; if they fail, the
// answer is create's 400 and nothing changes. If they pass, the settings
// and the newly sealed credentials replace the stored ones in one write
// conditional on the version (the stores' UpdateConfig, which destroys
// the replaced envelope), with the outcome of the checks, and the history
// gets the verification (trigger rotate, or edit without new credentials).
//
// A concurrent write that left the credentials and settings alone (a
// test, the scheduler, a rename) is re-read and the edit applied again;
// one that changed them (another rotation) wins, and this one answers 409
// without writing: never half of each.
func (s *Server) edit(w http.ResponseWriter, r *http.Request, c *storageconfig.Config, who *identity.Principal, p storageconfig.Patch) {
	if err := s.checksConfigured(); err != nil {
		writeError(w, r, err)
		return
	}
	trigger, creds := store.TriggerEdit, p.Credentials
	if p.Rotates() {
		trigger = store.TriggerRotate
	} else {
		var err error
		if creds, err = storageconfig.OpenCredentials(r.Context(), s.Sealer, c); err != nil {
			writeError(w, r, err)
			return
		}
	}
	target := *c
	target.Settings, target.Sealed = p.Settings, nil
	if p.AccessMode != nil {
		target.AccessMode = *p.AccessMode
	}
	if p.SetCORSOrigins {
		target.CORSOrigins = p.CORSOrigins
	}
	res := s.Verifier.Verify(r.Context(), &target, creds)
	logChecks(r, string(trigger), &target, res)
	if !res.Verified() {
		writeError(w, r, res.Errors)
		return
	}
	p.Settings = target.Settings // as the checks completed them (the region found)
	var sealed []byte
	if p.Rotates() {
		plain, err := json.Marshal(creds)
		if err != nil {
			writeError(w, r, fmt.Errorf("encode credentials: %w", err))
			return
		}
		defer clear(plain)
		if sealed, err = s.Sealer.Seal(r.Context(), plain, seal.Binding{OrgID: c.OrgID, ConfigUID: c.UID}); err != nil {
			writeError(w, r, fmt.Errorf("seal credentials of %s: %w", c.UID, err))
			return
		}
	}
	now := s.now()
	flipped, err := s.replaceSettings(r, who, c, p, sealed, now)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.appendHistory(r, c, trigger, now, res)
	if flipped {
		s.publishChange(r, c, res, trigger)
	}
	writeJSON(w, http.StatusOK, checkedResponse{Response: storageconfig.ToResponse(c), CORS: res.CORS})
}

// replaceSettings writes p (its Settings, and sealed when a rotation gave
// new credentials) into c, with a passed verification at now, for who (a
// rotate connect session is used in the same write). It retries on a
// version conflict only while the stored credentials and settings are
// still those c was read with (and checked against); otherwise it answers
// errEditedMeanwhile. It reports whether is_verified flipped.
func (s *Server) replaceSettings(r *http.Request, who *identity.Principal, c *storageconfig.Config, p storageconfig.Patch, sealed []byte, now time.Time) (flipped bool, err error) {
	baseSealed := c.Sealed
	baseDoc, err := storageconfig.EncodeSettings(c)
	if err != nil {
		return false, err
	}
	for attempt := 1; ; attempt++ {
		doc, err := storageconfig.EncodeSettings(c)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(c.Sealed, baseSealed) || !bytes.Equal(doc, baseDoc) {
			return false, errEditedMeanwhile
		}
		was := c.IsVerified
		p.Apply(c, now)
		if sealed != nil {
			c.Sealed = sealed
		}
		c.RecordVerification(now, true)
		err = s.updateConfig(r, who, c, now)
		switch {
		case err == nil:
			return !was, nil
		case !errors.Is(err, errcode.ErrConflict):
			return false, fmt.Errorf("edit config %s: %w", c.UID, err)
		case attempt >= patchAttempts:
			return false, errEditedMeanwhile
		}
		fresh, err := s.Store.GetConfig(r.Context(), c.UID)
		if err != nil {
			return false, fmt.Errorf("reload config %s: %w", c.UID, err)
		}
		*c = *fresh
	}
}
