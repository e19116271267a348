package verify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Defaults of a Verifier.
const (
	DefaultDeadline    = 15 * time.Second
	DefaultCallTimeout = 5 * time.Second
)

// SampleSize is how many listed objects the list check keeps in
// Result.Sample (the first ones for Verify, a random sample for
// VerifyBucket).
const SampleSize = 10

// ProbeMarker is part of the key of every probe object the write check
// writes: "<prefix>.bucketlink-verify-<uuid>". Listings leave such keys out
// of the sample.
const ProbeMarker = ".bucketlink-verify-"

// readBytes is how much of an object the read check reads.
const readBytes = 16

// probeData is the body of the probe object.
var probeData = []byte("bucketlink verification probe; safe to delete\n")

// lateGrace is how long Verify waits past its deadline for a driver that
// does not honour its context before it reports the call as timed out.
const lateGrace = 250 * time.Millisecond

// Verifier runs the four checks (list, read, write, delete) against the
// bucket and prefix of a config (Verify, for the storage-configs API), or
// those and a presign check with a sample of the bucket's files
// (VerifyBucket, for the bucket-verify API). The zero value is not usable:
// Opener is required.
type Verifier struct {
	// Opener opens the config's bucket with the user's credentials.
	Opener Opener
	// Deadline bounds a whole verification; 0 means DefaultDeadline.
	Deadline time.Duration
	// CallTimeout bounds each provider call (never past Deadline); 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// Sequential runs the lanes one after another instead of concurrently,
	// under the same deadline. It exists for the benchmark that compares
	// the two; production callers leave it false.
	Sequential bool
	// ScanLimit bounds how many keys the list check of VerifyBucket scans
	// (see DefaultScanLimit); 0 or more than DefaultScanLimit means
	// DefaultScanLimit. Verify ignores it. Tests set a small one.
	ScanLimit int
	// CORS, when set with AppOrigins, runs VerifyBucket's cors check: the
	// browser's preflights from each app origin, in a lane of its own.
	CORS *corscheck.Checker
	// AppOrigins are the operator's app origins (corscheck.ParseOrigins),
	// the pages that use buckets from browsers.
	AppOrigins []string
}

func (v *Verifier) deadline() time.Duration {
	if v.Deadline > 0 {
		return v.Deadline
	}
	return DefaultDeadline
}

// callTimeout is how long one call may wait, which is also what a user is
// told an unreachable endpoint did not answer within.
func (v *Verifier) callTimeout() time.Duration {
	t := v.CallTimeout
	if t <= 0 {
		t = DefaultCallTimeout
	}
	return min(t, v.deadline())
}

// outcome is what one check saw: nil err is success; skippedFor names the
// failed check it depended on; note replaces the default success message.
type outcome struct {
	err        error
	skippedFor string
	skipped    bool   // passed without running (nothing to read)
	notRun     string // failed without running, for this reason
	note       string
	code       string // of a success that is more than ok (a warning or a note); "" is ok
}

// run holds one verification's state. Lanes never write it: each returns
// a function that runLanes calls (in runLanes' goroutine) to record what
// the lane saw.
type run struct {
	cfg      *storageconfig.Config
	creds    storageconfig.Credentials
	probeKey string
	// withPresign adds the presign check to the result (VerifyBucket).
	withPresign bool

	list, read, write, del, presign outcome
	sample                          []blob.Object

	// Found by VerifyBucket's lanes.
	hasInfoLabels bool
	signedURL     string
	cors          *corscheck.Report
}

// lane is one sequence of checks. It runs without touching the run and
// returns a function that records its outcomes in the run.
type lane func(ctx context.Context) (apply func(r *run))

// Verify checks that creds (for an iam_role config: the role's temporary
// credentials, which the Opener obtains) can list, read, write and delete
// under c's bucket (or container) and prefix, and returns the outcome of
// each check, with failures on the request fields of c's provider. It
// returns within Deadline (plus a moment) whatever the provider does, and
// never puts a secret into the result. Credentials that cannot serve, as
// far as they say themselves (a missing part; a SAS token that has expired
// or lacks a permission), fail without connecting.
func (v *Verifier) Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) Result {
	r := &run{cfg: c, creds: creds, probeKey: c.Prefix() + ProbeMarker + uuid.NewString()}
	v.verify(ctx, r, func(b blob.Bucket) []lane {
		if c.ReadOnly() {
			return []lane{v.listLane(c.Prefix(), b), v.readOnlyLane(r.probeKey, b)}
		}
		lanes := []lane{v.listLane(c.Prefix(), b), v.writeLane(r.probeKey, b)}
		return v.withCORS(lanes, c, c.Prefix()+CORSTestMarker+uuid.NewString(), b)
	})
	return v.result(r)
}

// verify runs the checks of r within Deadline: credentials that cannot
// serve fail without connecting; otherwise it opens the bucket and runs
// the lanes that lanes builds for it.
func (v *Verifier) verify(ctx context.Context, r *run, lanes func(b blob.Bucket) []lane) {
	ctx, cancel := context.WithTimeout(ctx, v.deadline())
	defer cancel()
	switch {
	case len(r.cfg.Report(r.creds).Missing) > 0:
		r.failAll(errMissingCredentials)
	case r.precheck(time.Now()):
		// Reported without connecting.
	default:
		// Opening an iam_role config calls STS: it gets one call's time.
		var b blob.Bucket
		err := v.call(ctx, func(ctx context.Context) (err error) {
			b, err = v.Opener.Open(ctx, r.cfg, r.creds)
			return err
		})
		if err != nil {
			if blob.CodeOf(err) == blob.Unknown {
				err = &openError{err: err}
			}
			r.failAll(err)
		} else {
			v.runLanes(ctx, r, lanes(b)...)
		}
	}
}

// failAll records err as the outcome of the first check of each lane.
func (r *run) failAll(err error) {
	r.list = outcome{err: err}
	r.read = outcome{skippedFor: CheckList}
	r.write = outcome{err: err}
	r.del = outcome{skippedFor: CheckWrite}
	r.presign = outcome{err: err}
	if r.cfg.ReadOnly() {
		r.skipWrites()
	}
}

// runLanes runs the lanes concurrently (one after another when
// Sequential) and waits for all of them or for the deadline (plus
// lateGrace), whichever is first. A lane that has not finished by then
// reports its first check as timed out and the rest as skipped.
func (v *Verifier) runLanes(ctx context.Context, r *run, lanes ...lane) {
	done := make(chan func(*run), len(lanes)) // lanes never block on it
	if v.Sequential {
		go func() {
			for _, l := range lanes {
				done <- l(ctx)
			}
		}()
	} else {
		for _, l := range lanes {
			go func() { done <- l(ctx) }()
		}
	}
	late := time.NewTimer(time.Until(deadlineOf(ctx)) + lateGrace)
	defer late.Stop()
	timedOut := outcome{err: context.DeadlineExceeded}
	r.list, r.read, r.write, r.del = timedOut, outcome{skippedFor: CheckList}, timedOut, outcome{skippedFor: CheckWrite}
	r.presign = timedOut
	for range lanes {
		select {
		case apply := <-done:
			apply(r)
		case <-late.C:
			return
		}
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline() // Verify always sets one
	return d
}

func (v *Verifier) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, v.callTimeout())
	defer cancel()
	return f(ctx)
}

// listLane is Verify's list→read lane: it lists one more object than
// SampleSize (in case a concurrent probe is listed) and keeps the first
// SampleSize that are not probes.
func (v *Verifier) listLane(prefix string, b blob.Bucket) lane {
	return func(ctx context.Context) func(*run) {
		list, read, sample := v.listAndRead(ctx, prefix, b, SampleSize+1, func(objs []blob.Object) ([]blob.Object, string) {
			var sample []blob.Object
			for _, o := range objs {
				if !strings.Contains(o.Key, ProbeMarker) && len(sample) < SampleSize {
					sample = append(sample, o)
				}
			}
			return sample, listNote(len(sample), prefix)
		})
		return func(r *run) { r.list, r.read, r.sample = list, read, sample }
	}
}

// writeLane is the write→delete lane of the probe object at key.
func (v *Verifier) writeLane(key string, b blob.Bucket) lane {
	return func(ctx context.Context) func(*run) {
		write, del := v.writeAndDelete(ctx, key, b)
		return func(r *run) { r.write, r.del = write, del }
	}
}

// listAndRead lists up to limit objects under prefix, lets pick choose the
// sample and the list check's note from them, and reads the first bytes of
// the first sampled object that is not a "directory".
func (v *Verifier) listAndRead(ctx context.Context, prefix string, b blob.Bucket, limit int,
	pick func(objs []blob.Object) (sample []blob.Object, note string)) (list, read outcome, sample []blob.Object) {
	var objs []blob.Object
	err := v.call(ctx, func(ctx context.Context) (err error) {
		objs, err = b.List(ctx, prefix, limit)
		return err
	})
	if err != nil {
		return outcome{err: err}, outcome{skippedFor: CheckList}, nil
	}
	sample, note := pick(objs)
	list = outcome{note: note}
	key, ok := readable(sample)
	if !ok {
		return list, outcome{skipped: true, note: "There is no object under the prefix to read, so the read check was skipped."}, sample
	}
	err = v.call(ctx, func(ctx context.Context) error {
		_, err := b.ReadRange(ctx, key, readBytes)
		return err
	})
	if blob.CodeOf(err) == blob.NotFound {
		return list, outcome{skipped: true, note: "The object " + quote(key) + " was deleted before it could be read, so the read check was skipped."}, sample
	}
	if err != nil {
		return list, outcome{err: err}, sample
	}
	return list, outcome{note: "Read the first bytes of " + quote(key) + "."}, sample
}

// readable returns the first listed object that is not a "directory".
func readable(objs []blob.Object) (string, bool) {
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, "/") {
			return o.Key, true
		}
	}
	return "", false
}

// errMissingCredentials stands for credentials with an empty part.
var errMissingCredentials = errors.New("verify: missing credentials")

// openError is an Opener failure that carries no blob code.
type openError struct{ err error }

func (e *openError) Error() string { return "verify: open bucket: " + e.err.Error() }
func (e *openError) Unwrap() error { return e.err }
