package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// actionEdit is what editing a config needs: what creating one does (the
// admin role). A bucket-verify request that takes a stored config's
// credentials beyond the config needs it too.
const actionEdit = identity.ActionCreate

// patchAttempts bounds the reloads when a concurrent update (a test, the
// scheduler's claim, another rename) wins the race for the version.
const patchAttempts = 5

// patch serves PATCH /api/v1/storage-configs/{uid}/: an admin renames a
// config or changes (or switches off) its re-verification interval
// (storageconfig.ParsePatch). It answers 200 with the config as stored.
// Editing needs what creating does: the admin role.
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	c, err := s.configForRequest(r, actionEdit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := storageconfig.ParsePatch(body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for attempt := 1; p.Apply(c, s.now()); attempt++ {
		err := s.Store.UpdateConfig(r.Context(), c)
		if err == nil {
			break
		}
		if !errors.Is(err, errcode.ErrConflict) || attempt == patchAttempts {
			writeError(w, r, fmt.Errorf("patch config %s: %w", c.UID, err))
			return
		}
		if c, err = s.Store.GetConfig(r.Context(), c.UID); err != nil {
			writeError(w, r, fmt.Errorf("reload config: %w", err)) // deleted meanwhile: 404
			return
		}
	}
	writeJSON(w, http.StatusOK, storageconfig.ToResponse(c))
}
