// Package httpapi is the HTTP edge of bucketlink: plain net/http handlers for
// the storage-configs API, authentication, and the one place where domain
// errors become documented JSON bodies. The same handler serves the local
// process and, through an API Gateway adapter, each Lambda.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/openapi"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 64 << 10

// Verifier runs the connectivity checks of a config.
type Verifier interface {
	Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.Result
}

// Server holds the dependencies of the handlers. Build it once per process.
type Server struct {
	Store    store.Store
	Sealer   seal.Sealer
	Verifier Verifier
	// CursorKey signs pagination cursors (32 random or derived bytes).
	CursorKey []byte
	// AWSAccountID is what setup-info reports as avala_aws_account_id.
	AWSAccountID string
	// GCPPrincipal is what setup-info reports as gc_storage_principal:
	// bucketlink's own Google principal (a service account e-mail or a
	// workload identity principal); "" leaves the field out.
	GCPPrincipal string
	// AzureFederation is what setup-info reports as
	// azure_federated_credential: the issuer and subject of bucketlink's
	// own tokens, which the application of an azure_blob
	// workload_identity config trusts; zero leaves the field out.
	AzureFederation AzureFederation
	Logger          *slog.Logger
	// Now is the clock; nil means storageconfig.Now.
	Now func() time.Time

	// Queue receives the verifications that the bucket-verify API starts
	// (queue.KindVerify messages naming a record key). VerifyKey keys the
	// record keys (verification.RecordKey): at least 32 bytes, the same in every
	// instance that serves the API. Without either, the bucket-verify
	// endpoint answers 500 and logs why.
	Queue     queue.Sender
	VerifyKey []byte
	// VerifyRecordDeadline is how long a verification may stay connecting
	// before it reads as timed out; 0 means verification.DefaultRecordDeadline.
	VerifyRecordDeadline time.Duration
	// VerifyOrgCap is how many bucket verifications one org may have in
	// connecting at once (verifycap.go); 0 means DefaultVerifyOrgCap.
	VerifyOrgCap int
	// Events receives a Change when a test/ flips is_verified; nil
	// publishes nothing (the scheduler's re-verifier publishes its own).
	Events changeevents.Publisher
	// Limiter, when set, limits each API key's requests per route class
	// after authentication (ratelimit.go); nil limits nothing.
	Limiter ratelimit.Limiter
	// Metrics receives the rate-limited requests; nil records nothing.
	Metrics metrics.Recorder
}

// Handler returns the routes of the storage-configs API, of the
// bucket-verify API (verifybucket.go) and GET /openapi.json (their
// OpenAPI document, shared/openapi), wrapped in the
// request-ID, logging and panic-recovery middleware.
func (s *Server) Handler() http.Handler {
	if len(s.CursorKey) < 16 {
		panic("httpapi: CursorKey must be at least 16 bytes")
	}
	mux := http.NewServeMux()
	const base = "/api/v1/storage-configs/"
	s.route(mux, base+"{$}", map[string]http.HandlerFunc{"GET": s.list, "POST": s.create})
	s.route(mux, base+"setup-info/{$}", map[string]http.HandlerFunc{"GET": s.setupInfo})
	s.route(mux, base+"{uid}/{$}", map[string]http.HandlerFunc{"GET": s.get, "DELETE": s.delete, "PATCH": s.patch})
	s.route(mux, base+"{uid}/test/{$}", map[string]http.HandlerFunc{"POST": s.test})
	s.route(mux, base+"{uid}/verifications/{$}", map[string]http.HandlerFunc{"GET": s.verifications})
	s.routeVerifyBucket(mux)
	s.route(mux, ConnectSessionsPath+"{$}", map[string]http.HandlerFunc{"POST": s.createConnectSession})
	routeConnectPage(mux)
	// The OpenAPI document of both APIs; no API key, not rate limited.
	s.route(mux, openapi.Path, map[string]http.HandlerFunc{"GET": openapi.Handler().ServeHTTP})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errcode.ErrNotFound)
	})
	return s.middleware(s.limitRate(withoutRedirects(mux)))
}

// withoutRedirects serves a path given without its trailing slash as the
// same path with one, where only the latter is a route: ServeMux would
// answer such a request with a redirect, and clients such as the avala
// SDK treat every 3xx as an error. Other requests go to mux as they are.
func withoutRedirects(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "" && !strings.HasSuffix(p, "/") {
			slashed := *r
			u := *r.URL
			u.Path += "/"
			if u.RawPath != "" {
				u.RawPath += "/"
			}
			slashed.URL = &u
			_, as := mux.Handler(r)
			_, want := mux.Handler(&slashed)
			// A redirect reports the pattern it leads to: the slashed one.
			if want != "/" && (as == "/" || as == want) {
				r = &slashed
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// route registers one path; methods it does not serve get a JSON 405.
// Dispatching by method here, rather than with "GET /path" patterns, keeps
// "{uid}/" and "setup-info/" from conflicting in the mux.
func (s *Server) route(mux *http.ServeMux, path string, methods map[string]http.HandlerFunc) {
	allow := slices.Sorted(maps.Keys(methods))
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if h, ok := methods[r.Method]; ok {
			h(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": fmt.Sprintf("Method %q not allowed.", r.Method)})
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return storageconfig.Now()
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// middleware gives every request an ID (echoed as X-Request-Id), logs one
// access line without bodies or query strings, and turns panics into 500s.
func (s *Server) middleware(next http.Handler) http.Handler {
	base := s.Logger
	if base == nil {
		base = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		l := base.With(slog.String("request_id", id))
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, l)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				l.Error("panic", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					writeError(rec, r, errors.New("panic"))
				}
			}
			l.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
		}()
		next.ServeHTTP(rec, r)
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// authenticate resolves the API key of r (X-Avala-Api-Key or x-api-key).
// Missing, malformed, unknown and revoked keys all give the same 401.
// A request the rate limiter authenticated answers from that.
func (s *Server) authenticate(r *http.Request) (*identity.Principal, error) {
	if a, ok := authenticated(r); ok {
		return a.p, a.err
	}
	if token := r.Header.Get(HeaderConnectSession); token != "" {
		return s.authenticateSession(r, token) // connect.go
	}
	key := r.Header.Get("X-Avala-Api-Key")
	if key == "" {
		key = r.Header.Get("X-Api-Key")
	}
	if key == "" {
		return nil, errcode.New(errcode.Unauthenticated, "no API key")
	}
	p, err := identity.Authenticate(r.Context(), s.Store, key)
	switch {
	case errors.Is(err, identity.ErrInvalidKey):
		return nil, errcode.New(errcode.Unauthenticated, "invalid API key")
	case err != nil:
		return nil, err
	}
	logger(r.Context()).Debug("authenticated", slog.String("key_id", p.KeyID))
	return p, nil
}

// orgForRequest resolves the organization query parameter (a slug) for the
// caller and checks that its role allows the action.
func (s *Server) orgForRequest(r *http.Request, p *identity.Principal, a identity.Action) (*identity.Org, error) {
	slug := r.URL.Query().Get("organization")
	var orgID int64
	switch {
	case slug == "" && len(p.Memberships) == 1:
		orgID = p.Memberships[0].OrgID
	case slug == "" && len(p.Memberships) == 0:
		return nil, errcode.New(errcode.PermissionDenied, "no memberships")
	case slug == "":
		return nil, fieldError("organization", "You belong to several organizations; pass ?organization=<slug> to choose one.")
	default:
		o, err := s.Store.GetOrgBySlug(r.Context(), slug)
		if errors.Is(err, errcode.ErrNotFound) {
			// Unknown and foreign orgs answer alike, so slugs cannot be probed.
			return nil, errcode.New(errcode.PermissionDenied, "unknown org")
		}
		if err != nil {
			return nil, err
		}
		orgID = o.ID
	}
	if err := allow(p, orgID, a); err != nil {
		return nil, err
	}
	return s.Store.GetOrgByID(r.Context(), orgID)
}

// allow checks that the caller's role in org permits the action.
func allow(p *identity.Principal, orgID int64, a identity.Action) error {
	role, ok := p.RoleIn(orgID)
	if !ok || !role.Allows(a) {
		return errcode.New(errcode.PermissionDenied, "role does not allow %s", a)
	}
	return nil
}
