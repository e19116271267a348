// Package changeevents announces changes of a storage config's
// verification status to other systems: whenever is_verified flips, a
// Change is published. It holds the Publisher interface and its local
// implementations: LogPublisher (one JSON log line per change), Bus (an
// in-process fan-out that tests subscribe to) and Fanout (several at
// once). Package ebpub publishes to Amazon EventBridge.
//
// A Change never carries credentials, bucket names or check messages:
// only the org, the config uid, the statuses, the check codes, the trigger
// and the time.
package changeevents

import (
	"context"
	"errors"
	"time"

	"github.com/bucketlink/bucketlink/shared/verification"
)

// Source and DetailType name every change event, on EventBridge (the
// event's source and detail-type) and in the log line.
const (
	Source     = "bucketlink"
	DetailType = "Storage Config Verification Changed"
)

// Change is one flip of a config's is_verified. Its JSON form is the
// event's detail:
//
//	{"organization_id": 1, "organization": "acme", "uid": "…",
//	 "previous_is_verified": true, "is_verified": false,
//	 "check_codes": ["list=access_denied", "read=skipped", …],
//	 "trigger": "schedule", "time": "2025-06-01T12:00:00.123456Z"}
type Change struct {
	// OrgID and Organization (the slug; "" when unknown) name the org.
	OrgID        int64  `json:"organization_id"`
	Organization string `json:"organization"`
	UID          string `json:"uid"`
	Previous     bool   `json:"previous_is_verified"`
	New          bool   `json:"is_verified"`
	// CheckCodes are the checks of the verification that flipped the
	// status, as "name=code" (CheckCodes), in order.
	CheckCodes []string `json:"check_codes"`
	// Trigger is what ran the verification: create, test, schedule or
	// verify.
	Trigger string `json:"trigger"`
	// Time is when the verification ended, in UTC.
	Time time.Time `json:"time"`
}

// CheckCodes returns the codes of checks as "name=code", in order, never
// nil.
func CheckCodes(checks []verification.Check) []string {
	out := make([]string, 0, len(checks))
	for _, c := range checks {
		out = append(out, c.Name+"="+c.Code)
	}
	return out
}

// Publisher announces changes. Publish returns once the change is handed
// over (logged, delivered to subscribers, accepted by EventBridge) or
// fails; it is safe for concurrent use. Callers publish after the new
// status is stored, so a failure loses the event, never the status.
type Publisher interface {
	Publish(ctx context.Context, c Change) error
}

// Fanout publishes each change to every publisher in it, in order, and
// returns their errors joined.
type Fanout []Publisher

// Publish publishes c to every publisher of f.
func (f Fanout) Publish(ctx context.Context, c Change) error {
	var errs []error
	for _, p := range f {
		if err := p.Publish(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Discard is a Publisher that drops every change: for a process that has
// nowhere to send them.
type Discard struct{}

// Publish does nothing and returns nil.
func (Discard) Publish(context.Context, Change) error { return nil }
