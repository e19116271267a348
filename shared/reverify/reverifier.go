package reverify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// Verifier runs the checks of test/ (*verify.Verifier).
type Verifier interface {
	Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) verify.Result
}

// ReverifyStore is the part of the store a Reverifier uses.
type ReverifyStore interface {
	GetConfig(ctx context.Context, uid string) (*storageconfig.Config, error)
	UpdateConfig(ctx context.Context, c *storageconfig.Config) error
	AppendVerification(ctx context.Context, orgID int64, uid string, v store.VerificationEntry) error
	GetOrgByID(ctx context.Context, id int64) (*identity.Org, error)
}

// updateAttempts bounds the reloads when a concurrent update (a rename, a
// test/, a claim) wins the race for the config's version.
const updateAttempts = 5

// Reverifier re-tests one stored config: the worker's side of
// re-verification. Its Handle is the queue.Handler of
// queue.KindReverify messages.
type Reverifier struct {
	Store    ReverifyStore
	Sealer   seal.Sealer
	Verifier Verifier
	// Events receives a Change whenever is_verified flips; nil publishes
	// nothing.
	Events changeevents.Publisher
	// Clock is the time; nil means storageconfig.Now.
	Clock func() time.Time
	// Logger receives one line per run (never a secret); nil means
	// slog.Default().
	Logger *slog.Logger
}

// Outcome is what one re-verification did.
type Outcome struct {
	// Skipped: the config was deleted, or its re-verification switched
	// off, while the message waited; nothing was run or written.
	Skipped bool
	// Verified is the new status; Changed reports that it flipped (and a
	// Change was published).
	Verified, Changed bool
}

// Handle re-verifies the config a queue.KindReverify message names. It
// returns nil once the outcome is stored (or the config is gone), and an
// error when the work should be tried again: the credentials could not be
// opened (KMS unavailable) or the store failed. A message of another kind
// is an error (the dispatcher sent it to the wrong handler).
func (r *Reverifier) Handle(ctx context.Context, m queue.Message) error {
	if m.Kind != queue.KindReverify {
		return fmt.Errorf("reverify: message of kind %q", m.Kind)
	}
	_, err := r.Reverify(ctx, m.Key)
	return err
}

// Reverify re-tests config uid: see Handle. A config deleted before or
// during the run is Skipped and never written back (no resurrection); its
// history is not appended to either.
func (r *Reverifier) Reverify(ctx context.Context, uid string) (Outcome, error) {
	c, err := r.Store.GetConfig(ctx, uid)
	if errors.Is(err, errcode.ErrNotFound) {
		r.logger().LogAttrs(ctx, slog.LevelInfo, "reverify: config is gone", slog.String("config", uid))
		return Outcome{Skipped: true}, nil
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("reverify %s: %w", uid, err)
	}
	if !c.Reverifies() {
		return Outcome{Skipped: true}, nil
	}
	creds, err := storageconfig.OpenCredentials(ctx, r.Sealer, c)
	if err != nil {
		return Outcome{}, fmt.Errorf("reverify %s: %w", uid, err)
	}
	// No CORS check: its outcome is not part of is_verified or the
	// history, so a scheduled run would send the preflights for nothing.
	checked := *c
	checked.CORSOrigins = []string{}
	res := r.Verifier.Verify(ctx, &checked, creds)
	now := r.now()
	prev, changed, err := r.record(ctx, c, res.Verified(), now)
	if errors.Is(err, errcode.ErrNotFound) {
		return Outcome{Skipped: true}, nil
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("reverify %s: %w", uid, err)
	}
	out := Outcome{Verified: res.Verified(), Changed: changed}
	log := r.logger().With(slog.String("config", uid), slog.Int64("org", c.OrgID))
	log.LogAttrs(ctx, slog.LevelInfo, "verification", slog.String("trigger", string(store.TriggerSchedule)),
		slog.Bool("verified", out.Verified), slog.Bool("changed", changed),
		slog.Any("checks", changeevents.CheckCodes(res.Checks)), slog.Time("next", c.NextReverifyAt))

	// The status is stored; history and events follow it. Their failures
	// are logged, not returned: a redelivery would test again, but could
	// no longer see the flip.
	entry := store.NewVerificationEntry(now, store.TriggerSchedule, res.Verified(), res.Checks)
	if err := r.Store.AppendVerification(ctx, c.OrgID, uid, entry); err != nil && !errors.Is(err, errcode.ErrNotFound) {
		log.LogAttrs(ctx, slog.LevelError, "reverify: append history", slog.String("error", err.Error()))
	}
	if changed && r.Events != nil {
		change := changeevents.Change{
			OrgID: c.OrgID, Organization: r.orgSlug(ctx, c.OrgID), UID: uid, Previous: prev, New: out.Verified,
			CheckCodes: changeevents.CheckCodes(res.Checks), Trigger: string(store.TriggerSchedule), Time: now,
		}
		if err := r.Events.Publish(ctx, change); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "reverify: publish change", slog.String("error", err.Error()))
		}
	}
	return out, nil
}

// record stores the outcome on c with a conditional update, reloading c
// when another update won; it returns the status it replaced and whether
// that flipped. A config deleted meanwhile is ErrNotFound: the update
// never creates.
func (r *Reverifier) record(ctx context.Context, c *storageconfig.Config, ok bool, now time.Time) (prev, changed bool, err error) {
	err = store.UpdateConfigWith(ctx, r.Store, c, updateAttempts, func(c *storageconfig.Config) bool {
		prev = c.IsVerified
		changed = c.RecordVerification(now, ok)
		return true // the outcome is always written: last_verified_at moves
	})
	if err != nil {
		return false, false, fmt.Errorf("record outcome: %w", err)
	}
	return prev, changed, nil
}

// orgSlug returns the org's slug for an event, or "" when it cannot be
// read (the event still names the org by id).
func (r *Reverifier) orgSlug(ctx context.Context, id int64) string {
	o, err := r.Store.GetOrgByID(ctx, id)
	if err != nil {
		r.logger().LogAttrs(ctx, slog.LevelWarn, "reverify: org of a change", slog.Int64("org", id), slog.String("error", err.Error()))
		return ""
	}
	return o.Slug
}

func (r *Reverifier) now() time.Time {
	if r.Clock != nil {
		return r.Clock().UTC().Truncate(time.Microsecond)
	}
	return storageconfig.Now()
}

func (r *Reverifier) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
