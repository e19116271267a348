package verify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Defaults of a Verifier.
const (
	DefaultDeadline    = 15 * time.Second
	DefaultCallTimeout = 5 * time.Second
)

// SampleSize is how many listed objects the list check keeps in
// Result.Sample.
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
// bucket and prefix of a config. The zero value is not usable: Opener is
// required.
type Verifier struct {
	// Opener opens the config's bucket with the user's credentials.
	Opener Opener
	// Deadline bounds a whole verification; 0 means DefaultDeadline.
	Deadline time.Duration
	// CallTimeout bounds each provider call (never past Deadline); 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
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
}

// run holds one verification's state. Lanes write only their own fields.
type run struct {
	cfg      *storageconfig.Config
	creds    storageconfig.Credentials
	probeKey string

	list, read, write, del outcome
	sample                 []blob.Object
}

// Verify checks that creds (for an iam_role config: the role's temporary
// credentials, which the Opener obtains) can list, read, write and delete
// under c's bucket (or container) and prefix, and returns the outcome of
// each check, with failures on the request fields of c's provider. It
// returns within Deadline (plus a moment) whatever the provider does, and
// never puts a secret into the result. Credentials that cannot serve, as
// far as they say themselves (a missing part; a SAS token that has expired
// or lacks a permission), fail without connecting.
func (v *Verifier) Verify(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) Result {
	ctx, cancel := context.WithTimeout(ctx, v.deadline())
	defer cancel()
	r := &run{cfg: c, creds: creds, probeKey: c.Prefix() + ProbeMarker + uuid.NewString()}
	switch {
	case credentialsMissing(c, creds):
		r.failAll(errMissingCredentials)
	case r.checkSAS(time.Now()):
		// Reported without connecting.
	default:
		// Opening an iam_role config calls STS: it gets one call's time.
		var b blob.Bucket
		err := v.call(ctx, func(ctx context.Context) (err error) {
			b, err = v.Opener.Open(ctx, c, creds)
			return err
		})
		if err != nil {
			if blob.CodeOf(err) == blob.Unknown {
				err = &openError{err: err}
			}
			r.failAll(err)
		} else {
			v.runLanes(ctx, r, b)
		}
	}
	return v.result(r)
}

// credentialsMissing reports credentials of c with a missing part.
func credentialsMissing(c *storageconfig.Config, creds storageconfig.Credentials) bool {
	switch c.Provider {
	case storageconfig.ProviderGCStorage:
		if c.GCStorageAuthMethod == storageconfig.GCSAuthHMAC {
			return creds.AccessKeyID == "" || creds.SecretAccessKey == ""
		}
		return creds.ServiceAccountJSON == ""
	case storageconfig.ProviderAzureBlob:
		return creds.AzureAccountKey == "" && creds.AzureSASToken == ""
	}
	return c.S3AuthMethod != storageconfig.AuthIAMRole && (creds.AccessKeyID == "" || creds.SecretAccessKey == "")
}

// failAll records err as the outcome of the first check of each lane.
func (r *run) failAll(err error) {
	r.list = outcome{err: err}
	r.read = outcome{skippedFor: CheckList}
	r.write = outcome{err: err}
	r.del = outcome{skippedFor: CheckWrite}
}

// runLanes runs list→read and write→delete concurrently and waits for both
// or for the deadline (plus lateGrace), whichever is first.
func (v *Verifier) runLanes(ctx context.Context, r *run, b blob.Bucket) {
	type listLane struct {
		list, read outcome
		sample     []blob.Object
	}
	type writeLane struct{ write, del outcome }
	lc := make(chan listLane, 1)
	wc := make(chan writeLane, 1)
	go func() {
		var l listLane
		l.list, l.read, l.sample = v.listAndRead(ctx, r.cfg.Prefix(), b)
		lc <- l
	}()
	go func() {
		var w writeLane
		w.write, w.del = v.writeAndDelete(ctx, r.probeKey, b)
		wc <- w
	}()
	late := time.NewTimer(time.Until(deadlineOf(ctx)) + lateGrace)
	defer late.Stop()
	timedOut := outcome{err: context.DeadlineExceeded}
	r.list, r.read, r.write, r.del = timedOut, outcome{skippedFor: CheckList}, timedOut, outcome{skippedFor: CheckWrite}
	for lc != nil || wc != nil {
		select {
		case l := <-lc:
			r.list, r.read, r.sample, lc = l.list, l.read, l.sample, nil
		case w := <-wc:
			r.write, r.del, wc = w.write, w.del, nil
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

func (v *Verifier) listAndRead(ctx context.Context, prefix string, b blob.Bucket) (list, read outcome, sample []blob.Object) {
	var objs []blob.Object
	err := v.call(ctx, func(ctx context.Context) (err error) {
		// One more than needed, in case a concurrent probe is listed.
		objs, err = b.List(ctx, prefix, SampleSize+1)
		return err
	})
	if err != nil {
		return outcome{err: err}, outcome{skippedFor: CheckList}, nil
	}
	for _, o := range objs {
		if !strings.Contains(o.Key, ProbeMarker) && len(sample) < SampleSize {
			sample = append(sample, o)
		}
	}
	list = outcome{note: listNote(len(sample), prefix)}
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

func (v *Verifier) writeAndDelete(ctx context.Context, key string, b blob.Bucket) (write, del outcome) {
	if err := v.call(ctx, func(ctx context.Context) error { return b.Put(ctx, key, probeData) }); err != nil {
		return outcome{err: err}, outcome{skippedFor: CheckWrite}
	}
	write = outcome{note: "Wrote the probe object " + quote(key) + "."}
	if err := v.call(ctx, func(ctx context.Context) error { return b.Delete(ctx, key) }); err != nil {
		return write, outcome{err: err}
	}
	return write, outcome{note: "Deleted the probe object."}
}

// errMissingCredentials stands for credentials with an empty part.
var errMissingCredentials = errors.New("verify: missing credentials")

// openError is an Opener failure that carries no blob code.
type openError struct{ err error }

func (e *openError) Error() string { return "verify: open bucket: " + e.err.Error() }
func (e *openError) Unwrap() error { return e.err }
