package httpapi

import (
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/identity"
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
	// Deleted meanwhile: the reload's ErrNotFound, 404.
	if err := store.UpdateConfigWith(r.Context(), s.Store, c, patchAttempts, func(c *storageconfig.Config) bool {
		return p.Apply(c, s.now())
	}); err != nil {
		writeError(w, r, fmt.Errorf("patch: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, storageconfig.ToResponse(c))
}
