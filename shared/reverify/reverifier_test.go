package reverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub/ebpubtest"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// eventPath is where a deployment's change events go, and how a test
// reads them back.
type eventPath struct {
	name  string
	store func(t *testing.T) store.Store
	// events returns the publisher and a function returning the changes
	// published since its last call.
	events func(t *testing.T) (changeevents.Publisher, func(t *testing.T) []changeevents.Change)
}

// eventPaths are the local process (SQLite, the in-process bus) and AWS
// (DynamoDB Local, EventBridge on moto with an SQS subscriber).
var eventPaths = []eventPath{
	{"local", func(t *testing.T) store.Store { return openSQLite(t) }, func(t *testing.T) (changeevents.Publisher, func(t *testing.T) []changeevents.Change) {
		bus := &changeevents.Bus{}
		ch, cancel := bus.Subscribe()
		t.Cleanup(cancel)
		return bus, func(*testing.T) []changeevents.Change {
			var out []changeevents.Change
			for {
				select {
				case c := <-ch:
					out = append(out, c)
				default:
					return out
				}
			}
		}
	}},
	{"aws", openDynamo, func(t *testing.T) (changeevents.Publisher, func(t *testing.T) []changeevents.Change) {
		sub := ebpubtest.Subscribe(t, testenv.SharedMoto(t))
		p, err := ebpub.New(sub.Client, sub.Bus)
		if err != nil {
			t.Fatal(err)
		}
		return p, func(t *testing.T) []changeevents.Change {
			var out []changeevents.Change
			for _, e := range sub.Receive(t) {
				if e.Source != changeevents.Source || e.DetailType != changeevents.DetailType {
					t.Errorf("event envelope: source %q detail-type %q", e.Source, e.DetailType)
				}
				logs.write([]byte(e.Raw)) // for the secret check
				out = append(out, e.Detail)
			}
			return out
		}
	}},
}

// lockedBuffer collects the log lines and events of the package's tests,
// for the secret check.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) { return b.write(p) }

func (b *lockedBuffer) write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}

var logs lockedBuffer

// env is the worker side of re-verification on one path: a real store, a
// local sealer, the real verifier against the package's MinIO, and a
// scheduler feeding a memqueue whose handler is the Reverifier.
type env struct {
	t      *testing.T
	store  store.Store
	sealer seal.Sealer
	minio  *testenv.MinIO
	org    *identity.Org
	clk    *clock
	in     *inbox
	sched  *reverify.Scheduler
	rv     *reverify.Reverifier
	events func(t *testing.T) []changeevents.Change
}

func newEnv(t *testing.T, p eventPath) *env {
	t.Helper()
	st := p.store(t)
	sealer, err := localseal.Open(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.SharedMinIO(t)
	pub, events := p.events(t)
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	e := &env{t: t, store: st, sealer: sealer, minio: m, org: newOrg(t, st, "acme"), clk: &clock{now: t0}, events: events}
	e.rv = &reverify.Reverifier{
		Store:  st,
		Sealer: sealer,
		Verifier: &verify.Verifier{
			Opener:   &anyblob.Opener{HTTPClient: netguard.Policy{AllowPrivate: true}.HTTPClient()},
			Deadline: 10 * time.Second,
		},
		Events: pub,
		Clock:  e.clk.Now,
		Logger: logger,
	}
	e.in = newInbox(e.rv.Handle)
	e.sched = &reverify.Scheduler{Store: st, Sender: startQueue(t, e.in), Clock: e.clk.Now, Logger: logger}
	return e
}

// minioConfig stores a verified s3_compatible config of a fresh MinIO
// bucket and user (read, write, delete), re-verifying every interval from
// t0, and returns it with the user's access key.
func (e *env) minioConfig(interval time.Duration) (*storageconfig.Config, string, string) {
	t := e.t
	t.Helper()
	bucket := testenv.BucketName(t, "reverify")
	e.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	e.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	body, _ := json.Marshal(map[string]any{
		"name": "MinIO " + bucket, "provider": "s3_compatible", "s3_endpoint_url": e.minio.Endpoint,
		"s3_bucket_name": bucket, "s3_access_key_id": ak, "s3_secret_access_key": sk,
		"reverify_interval_seconds": int(interval / time.Second),
	})
	c, creds, err := storageconfig.ParseCreate(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	c.UID, c.OrgID = uuid.NewString(), e.org.ID
	c.CreatedAt, c.UpdatedAt, c.Version = t0, t0, 1
	c.RecordVerification(t0, true)
	plain, _ := json.Marshal(creds)
	if c.Sealed, err = e.sealer.Seal(context.Background(), plain, seal.Binding{OrgID: c.OrgID, ConfigUID: c.UID}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.store, c)
	return c, ak, sk
}

// runAt moves the clock to at, runs the schedule, waits until the worker
// has handled what it enqueued, and returns how many that was.
func (e *env) runAt(at time.Time) int {
	e.t.Helper()
	e.clk.Set(at)
	n, err := e.sched.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("run at %v: %v", at, err)
	}
	_, total, _ := e.in.snapshot()
	e.in.wait(e.t, total+n)
	if _, _, errs := e.in.snapshot(); len(errs) != 0 {
		e.t.Fatalf("worker errors: %v", errs)
	}
	return n
}

// wantState checks the stored status and schedule of config uid.
func (e *env) wantState(uid string, verified bool, failures int, next time.Time) {
	e.t.Helper()
	c, err := e.store.GetConfig(context.Background(), uid)
	if err != nil {
		e.t.Fatalf("get config: %v", err)
	}
	if c.IsVerified != verified || c.ReverifyFailures != failures || !c.NextReverifyAt.Equal(next) {
		e.t.Fatalf("config: verified %v failures %d next %v; want %v %d %v",
			c.IsVerified, c.ReverifyFailures, c.NextReverifyAt, verified, failures, next)
	}
}

// wantEvents checks the changes published since the last call.
func (e *env) wantEvents(uid string, want ...bool) {
	e.t.Helper()
	got := e.events(e.t)
	if len(got) != len(want) {
		e.t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if c.UID != uid || c.New != want[i] || c.Previous == want[i] || c.OrgID != e.org.ID ||
			c.Organization != e.org.Slug || c.Trigger != "schedule" || len(c.CheckCodes) == 0 ||
			!want[i] && !slices.Contains(c.CheckCodes, verify.CheckList+"="+verify.CodeAccessDenied) {
			e.t.Errorf("event %d: %+v, want config %s flipping to %v", i, c, uid, want[i])
		}
	}
}

// TestRevokeAndRestore revokes a MinIO user's policy: the next scheduled
// run reads the config is_verified false and publishes one event; a
// failing config backs off without more events; restoring the policy
// flips it back with a second event. The history records each run.
func TestRevokeAndRestore(t *testing.T) {
	for _, p := range eventPaths {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t, p)
			const interval = 15 * time.Minute
			c, user, secret := e.minioConfig(interval)
			e.wantState(c.UID, true, 0, t0.Add(interval))

			if n := e.runAt(t0.Add(10 * time.Minute)); n != 0 {
				t.Fatalf("run before due: %d enqueued", n)
			}
			e.minio.DetachUserPolicy(t, user)
			at := t0.Add(interval)
			if n := e.runAt(at); n != 1 {
				t.Fatalf("run when due: %d enqueued, want 1", n)
			}
			e.wantState(c.UID, false, 1, at.Add(storageconfig.ReverifyRetryBase))
			e.wantEvents(c.UID, false)

			at = at.Add(storageconfig.ReverifyRetryBase) // backoff: 5 min, then 10
			if n := e.runAt(at); n != 1 {
				t.Fatalf("retry: %d enqueued, want 1", n)
			}
			e.wantState(c.UID, false, 2, at.Add(2*storageconfig.ReverifyRetryBase))
			e.wantEvents(c.UID) // still failing: no event

			e.minio.SetUserPolicy(t, user, testenv.ReadWritePolicy(c.Settings.(*s3.Settings).BucketName))
			if n := e.runAt(at.Add(5 * time.Minute)); n != 0 {
				t.Fatalf("run inside the backoff: %d enqueued", n)
			}
			at = at.Add(2 * storageconfig.ReverifyRetryBase)
			if n := e.runAt(at); n != 1 {
				t.Fatalf("run after restoring: %d enqueued, want 1", n)
			}
			e.wantState(c.UID, true, 0, at.Add(interval))
			e.wantEvents(c.UID, true)

			page, err := e.store.ListVerifications(context.Background(), e.org.ID, c.UID, store.HistoryOptions{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, v := range page.Items {
				got = append(got, v.Verified)
				if v.Trigger != store.TriggerSchedule || len(v.Checks) == 0 {
					t.Errorf("history entry %d: trigger %q, %d checks", v.Seq, v.Trigger, len(v.Checks))
				}
			}
			if want := []bool{true, false, false}; !slices.Equal(got, want) {
				t.Errorf("history, newest first: %v, want %v", got, want)
			}
			if logs.contains(secret) {
				t.Error("the secret key appears in a log line or an event")
			}
		})
	}
}

// TestDeletedWhileQueued deletes a config after the scheduler enqueued it:
// the worker handles the message without error, writes nothing back, adds
// no history and publishes nothing.
func TestDeletedWhileQueued(t *testing.T) {
	for _, p := range eventPaths {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t, p)
			c, user, _ := e.minioConfig(15 * time.Minute)
			e.minio.DetachUserPolicy(t, user) // a run would flip it and publish

			// Enqueue into a queue that is not consuming yet.
			in := newInbox(e.rv.Handle)
			q := newQueue(t, in)
			sched := &reverify.Scheduler{Store: e.store, Sender: q, Clock: e.clk.Now, Logger: discard}
			e.clk.Set(t0.Add(time.Hour))
			if n, err := sched.RunOnce(context.Background()); err != nil || n != 1 {
				t.Fatalf("run: %d enqueued, %v; want 1", n, err)
			}
			if err := e.store.DeleteConfig(context.Background(), c.OrgID, c.UID); err != nil {
				t.Fatal(err)
			}
			if err := q.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			in.wait(t, 1)
			if _, _, errs := in.snapshot(); len(errs) != 0 {
				t.Fatalf("worker errors: %v", errs)
			}
			if _, err := e.store.GetConfig(context.Background(), c.UID); !errors.Is(err, errcode.ErrNotFound) {
				t.Fatalf("get the deleted config: %v, want ErrNotFound (no resurrection)", err)
			}
			page, err := e.store.ListVerifications(context.Background(), c.OrgID, c.UID, store.HistoryOptions{Limit: 10})
			if err != nil || len(page.Items) != 0 {
				t.Errorf("history of the deleted config: %d entries, %v", len(page.Items), err)
			}
			e.wantEvents(c.UID)

			out, err := e.rv.Reverify(context.Background(), c.UID)
			if err != nil || !out.Skipped {
				t.Errorf("Reverify of a deleted config: %+v, %v; want skipped", out, err)
			}
		})
	}
}

// TestReverifierSkipsConfigSwitchedOff: a config whose re-verification was
// switched off while its message waited is not tested.
func TestReverifierSkipsConfigSwitchedOff(t *testing.T) {
	e := newEnv(t, eventPaths[0])
	c, _, _ := e.minioConfig(time.Hour)
	off := storageconfig.Patch{ReverifyInterval: new(time.Duration(0))}
	got, err := e.store.GetConfig(context.Background(), c.UID)
	if err != nil {
		t.Fatal(err)
	}
	off.Apply(got, t0)
	if err := e.store.UpdateConfig(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	out, err := e.rv.Reverify(context.Background(), c.UID)
	if err != nil || !out.Skipped {
		t.Fatalf("Reverify of a config switched off: %+v, %v; want skipped", out, err)
	}
	after, err := e.store.GetConfig(context.Background(), c.UID)
	if err != nil || after.Version != got.Version || !after.LastVerifiedAt.Equal(t0) {
		t.Errorf("config after a skipped run: version %d last verified %v, %v", after.Version, after.LastVerifiedAt, err)
	}
}

// TestHandleRejectsOtherKinds: a verify message sent here by mistake fails
// (the queue retries it, then dead-letters it) rather than being dropped.
func TestHandleRejectsOtherKinds(t *testing.T) {
	rv := &reverify.Reverifier{}
	err := rv.Handle(context.Background(), queue.Message{Kind: queue.KindVerify, Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Errorf("Handle of a verify message: %v, want an error naming the kind", err)
	}
}
