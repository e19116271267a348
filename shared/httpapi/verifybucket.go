package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// VerifyBucketPath is the route of the bucket-verify API.
const VerifyBucketPath = "/v1/api/organizations/{organizationId}/buckets/verify"

// VerifyExistingBucketPath is the route of the existing-bucket verify:
// a stored config, by its integer id (or uid), with its own credentials.
const VerifyExistingBucketPath = "/v1/api/organizations/{organizationId}/buckets/{bucketId}/verify"

// MinVerifyKeyLen is the shortest accepted Server.VerifyKey, in bytes.
const MinVerifyKeyLen = 32

// The fixed errors of the bucket-verify API, in its {success, error} shape.
const (
	verifyErrServer      = "A server error occurred. Request ID: "
	verifyErrUnavailable = "A service this request depends on is temporarily unavailable. Retry in a few seconds. Request ID: "
	verifyErrTooLarge    = "The request body is larger than 64 KiB."
	verifyErrNotStarted  = "The verification could not be started; try again."
)

// routeVerifyBucket registers the bucket-verify endpoint and the
// existing-bucket verify, each with or without a trailing slash; other
// methods than POST get a 405 in the API's shape.
func (s *Server) routeVerifyBucket(mux *http.ServeMux) {
	postOnly := func(serve http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				writeJSON(w, http.StatusMethodNotAllowed, bucketverify.Failure(fmt.Sprintf("Method %q not allowed.", r.Method)))
				return
			}
			serve(w, r)
		}
	}
	for path, h := range map[string]http.HandlerFunc{
		VerifyBucketPath:         postOnly(s.verifyBucket),
		VerifyExistingBucketPath: postOnly(s.verifyExistingBucket),
	} {
		mux.HandleFunc(path, h)
		mux.HandleFunc(path+"/{$}", h)
	}
}

// verifyBucket serves POST .../buckets/verify: it shows the verification
// record of the request, starting one when there is none or when the last
// one ended more than verification.RestartWindow ago. Polling a running or
// recent verification is one store read (plus authentication, and the
// config's lookup when bucketId is an integer) and never calls the
// provider.
func (s *Server) verifyBucket(w http.ResponseWriter, r *http.Request) {
	orgID, mayEdit, raw, ok := s.verifyRequest(w, r)
	if !ok {
		return
	}
	defer clear(raw) // it holds the secret key
	parsed, err := bucketverify.Parse(raw)
	if err != nil {
		writeVerifyError(w, r, err)
		return
	}
	s.serveVerification(w, r, orgID, mayEdit, parsed)
}

// verifyExistingBucket serves POST .../buckets/{bucketId}/verify: the
// stored config that bucketId names, with its stored credentials, at the
// body's prefix (inside the config's own). It answers as verifyBucket,
// and shares its records: it is the same verification as a verify body of
// that bucketId and prefix without a secret.
func (s *Server) verifyExistingBucket(w http.ResponseWriter, r *http.Request) {
	orgID, mayEdit, raw, ok := s.verifyRequest(w, r)
	if !ok {
		return
	}
	defer clear(raw)
	parsed, err := bucketverify.ParseExisting(r.PathValue("bucketId"), raw)
	if err != nil {
		writeVerifyError(w, r, err)
		return
	}
	s.serveVerification(w, r, orgID, mayEdit, parsed)
}

// verifyRequest authenticates a bucket-verify request, resolves its org,
// says whether the caller's role there may edit storage configs (and so
// take a stored config's credentials beyond it: bucketverify.Parsed.Scope)
// and reads its body (the caller clears it). When it fails it has written
// the answer.
func (s *Server) verifyRequest(w http.ResponseWriter, r *http.Request) (orgID int64, mayEdit bool, raw []byte, ok bool) {
	p, err := s.authenticate(r)
	if err != nil {
		writeVerifyError(w, r, err)
		return 0, false, nil, false
	}
	orgID, err = s.verifyOrg(r, p)
	if err != nil {
		writeVerifyError(w, r, err)
		return 0, false, nil, false
	}
	mayEdit = allow(p, orgID, actionEdit) == nil
	raw, err = readAllClearing(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusOK, bucketverify.Failure(verifyErrTooLarge))
			return 0, false, nil, false
		}
		writeVerifyError(w, r, fmt.Errorf("read body: %w", err))
		return 0, false, nil, false
	}
	return orgID, mayEdit, raw, true
}

// serveVerification shows the record of a parsed request, starting a
// verification when there is none or the last ended long enough ago.
func (s *Server) serveVerification(w http.ResponseWriter, r *http.Request, orgID int64, mayEdit bool, parsed bucketverify.Parsed) {
	ctx := r.Context()
	if err := s.resolveBucket(ctx, orgID, mayEdit, &parsed); err != nil {
		writeVerifyError(w, r, err)
		return
	}
	if s.Queue == nil || len(s.VerifyKey) < MinVerifyKeyLen {
		writeVerifyError(w, r, errors.New("bucket-verify is not configured: Server.Queue or Server.VerifyKey is missing"))
		return
	}
	key := verification.RecordKey(s.VerifyKey, orgID, parsed.Request, parsed.SecretKey)
	rec, err := s.Store.GetVerification(ctx, key)
	now := s.now()
	switch {
	case err == nil && !rec.Restartable(now, verification.RestartWindow):
		// Running, or finished moments ago: show it.
	case err == nil || errors.Is(err, errcode.ErrNotFound):
		var old *verification.Record
		if err == nil {
			old = rec // final, and old enough to restart
		}
		rec, err = s.startVerification(ctx, orgID, parsed, key, old)
		if err != nil {
			writeVerifyError(w, r, err)
			return
		}
		now = s.now()
	default:
		writeVerifyError(w, r, fmt.Errorf("read verification %s: %w", key, err))
		return
	}
	view := rec.View(now)
	if view.Result.SignedURL, err = rec.OpenSignedURL(s.VerifyKey); err != nil {
		writeVerifyError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bucketverify.ResponseOf(view))
}

// resolveBucket turns an integer bucketId into the uid of the config it
// names (another org's answers 403, revealing only that it exists; an
// unknown one a validation error), and scopes a request on stored
// credentials to the stored config and the caller's role
// (bucketverify.Parsed.Scope): a member gets the config as stored or a
// narrower prefix, and only a role that may edit the config goes beyond
// it. This runs before the record is read, so that a member never sees
// the record of an admin's verification beyond the config.
func (s *Server) resolveBucket(ctx context.Context, orgID int64, mayEdit bool, parsed *bucketverify.Parsed) error {
	var c *storageconfig.Config
	var err error
	switch {
	case parsed.BucketNumber != 0:
		c, err = s.Store.GetConfigByID(ctx, parsed.BucketNumber)
	case parsed.Request.BucketID != "" && parsed.UsesStoredCredentials():
		c, err = s.Store.GetConfig(ctx, parsed.Request.BucketID)
	default:
		return nil // checkBucketID checks a bucketId given with a secret
	}
	switch {
	case errors.Is(err, errcode.ErrNotFound):
		return errcode.FieldErrors{bucketverify.FieldBucketID: {msgNoSuchBucket}}
	case err != nil:
		return fmt.Errorf("get config named by bucketId: %w", err)
	case c.OrgID != orgID:
		return errcode.New(errcode.PermissionDenied, "bucketId of another org")
	}
	parsed.Request.BucketID = c.UID
	return parsed.Scope(c, mayEdit)
}

// msgNoSuchBucket answers a bucketId that names no config of the org.
const msgNoSuchBucket = "No storage config with this id exists in this organization."

// verifyOrg resolves the organizationId of the path (a numeric id or a
// slug) and checks that the caller may verify buckets in it. Unknown and
// foreign orgs answer alike (403), so neither ids nor slugs can be probed.
// A numeric id needs no store read.
func (s *Server) verifyOrg(r *http.Request, p *identity.Principal) (int64, error) {
	ref := r.PathValue("organizationId")
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		o, err := s.Store.GetOrgBySlug(r.Context(), ref)
		switch {
		case errors.Is(err, errcode.ErrNotFound):
			return 0, errcode.New(errcode.PermissionDenied, "unknown org")
		case err != nil:
			return 0, fmt.Errorf("get org %q: %w", ref, err)
		}
		id = o.ID
	}
	if err := allow(p, id, identity.ActionVerifyBucket); err != nil {
		return 0, err
	}
	return id, nil
}

// startVerification stores a new record for the request (in place of old,
// a final record, when old is set) and enqueues it, in the org's queue
// group, once it has one of the org's slots: an org with
// Server.VerifyOrgCap verifications in connecting is told to wait
// (verifycap.go). When another request started the same verification
// first, it returns that one's record.
func (s *Server) startVerification(ctx context.Context, orgID int64, parsed bucketverify.Parsed, key string, old *verification.Record) (*verification.Record, error) {
	if err := s.checkBucketID(ctx, orgID, parsed); err != nil {
		return nil, err
	}
	// One of the org's slots (its cap on running verifications), given
	// back unless this request starts the verification.
	releaseSlot, capErr := s.takeVerificationSlot(ctx, orgID, key)
	if capErr != nil {
		return nil, capErr
	}
	started := false
	defer func() {
		if !started {
			releaseSlot()
		}
	}()
	var sealed []byte
	// The request's credentials, or the grant of a role that may take a
	// stored config's beyond it: the worker never widens without it.
	if grant := (verification.Grant{ReplaceStored: parsed.Reach == bucketverify.ReachReplace}); !parsed.UsesStoredCredentials() || grant.ReplaceStored {
		var err error
		if sealed, err = verification.SealRun(ctx, s.Sealer, orgID, key, parsed.Credentials, grant); err != nil {
			return nil, err
		}
	}
	now := s.now()
	rec := verification.NewRecord(now, key, orgID, parsed.Request, sealed, s.VerifyRecordDeadline)
	// Its signed URL is stored sealed to a key of this record that only
	// VerifyKey derives.
	if err := rec.SealSignedURLTo(s.VerifyKey); err != nil {
		return nil, err
	}
	var err error
	if old == nil {
		err = s.Store.CreateVerification(ctx, rec)
	} else {
		err = s.Store.ReplaceVerification(ctx, rec, old.Version)
	}
	switch {
	case errors.Is(err, errcode.ErrAlreadyExists), errors.Is(err, errcode.ErrConflict):
		// Another request started it (or restarted it) first: show that one.
		got, err := s.Store.GetVerification(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("read verification %s started concurrently: %w", key, err)
		}
		return got, nil
	case err != nil:
		return nil, fmt.Errorf("store verification %s: %w", key, err)
	}
	logger(ctx).Info("verification started", slog.String("verification", key), slog.Int64("org", orgID),
		slog.String("provider", parsed.Request.Provider), slog.Bool("stored_credentials", parsed.UsesStoredCredentials()))
	if err := s.Queue.Send(ctx, queue.Message{Kind: queue.KindVerify, Key: key, Group: verifyGroup(orgID)}); err != nil {
		// Nothing will run it: end it at once, so that a retry after
		// verification.RestartWindow starts afresh, and say so.
		if ferr := rec.Fail(s.now(), verifyErrNotStarted, nil); ferr == nil {
			if uerr := s.Store.UpdateVerification(context.WithoutCancel(ctx), rec); uerr != nil {
				logger(ctx).Warn("could not mark an unsent verification failed", slog.String("verification", key), slog.String("error", uerr.Error()))
			}
		}
		return nil, errcode.Wrap(errcode.Unavailable, err, "enqueue verification %s", key)
	}
	started = true
	return rec, nil
}

// checkBucketID checks that the storage config a request names by
// bucketId exists in the org (403 for another org's, whose existence is
// all that answer reveals) and, when the request borrows its credentials,
// that the request fits it.
func (s *Server) checkBucketID(ctx context.Context, orgID int64, parsed bucketverify.Parsed) error {
	uid := parsed.Request.BucketID
	if uid == "" {
		return nil
	}
	c, err := s.Store.GetConfig(ctx, uid)
	switch {
	case errors.Is(err, errcode.ErrNotFound):
		return errcode.FieldErrors{bucketverify.FieldBucketID: {msgNoSuchBucket}}
	case err != nil:
		return fmt.Errorf("get config %s: %w", uid, err)
	case c.OrgID != orgID:
		return errcode.New(errcode.PermissionDenied, "bucketId of another org")
	}
	if parsed.UsesStoredCredentials() {
		if _, err := bucketverify.StoredTarget(parsed.Request, c, parsed.Reach); err != nil {
			return err
		}
	}
	return nil
}

// writeVerifyError renders err in the bucket-verify API's shape,
// {"success": false, "error": "..."}: validation failures with HTTP 200
// (that API's clients read success, not the status), 401 and 403 for
// authentication and permission, and 5xx with a generic message that
// carries the request ID; the cause goes to the log only.
func writeVerifyError(w http.ResponseWriter, r *http.Request, err error) {
	var fe errcode.FieldErrors
	switch code := errcode.CodeOf(err); {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusOK, bucketverify.Failure(bucketverify.Message(fe)))
	case code == errcode.Unauthenticated:
		writeJSON(w, http.StatusUnauthorized, bucketverify.Failure(deniedDetail(err, detailUnauthenticated)))
	case code == errcode.PermissionDenied:
		writeJSON(w, http.StatusForbidden, bucketverify.Failure(deniedDetail(err, detailForbidden)))
	default:
		id := requestID(r.Context())
		logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("code", code.String()), slog.String("error", err.Error()))
		if code == errcode.Unavailable {
			w.Header().Set("Retry-After", "5")
			writeJSON(w, http.StatusServiceUnavailable, bucketverify.Failure(verifyErrUnavailable+id))
			return
		}
		writeJSON(w, http.StatusInternalServerError, bucketverify.Failure(verifyErrServer+id))
	}
}
