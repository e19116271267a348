package verifyworker_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store/sqlitestore"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// local is a worker on the local store and sealer, verifying against the
// package's MinIO.
type local struct {
	store  *sqlitestore.Store
	sealer *localseal.Sealer
	worker *verifyworker.Worker
	runs   atomic.Int64
	minio  *testenv.MinIO
}

func newLocal(t *testing.T) *local {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := localseal.Open(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	l := &local{store: st, sealer: sealer, minio: testenv.SharedMinIO(t)}
	v := &verify.Verifier{Opener: &anyblob.Opener{HTTPClient: &http.Client{}}, Deadline: 5 * time.Second}
	l.worker = &verifyworker.Worker{Store: st, Sealer: sealer, Verifier: counting{v, &l.runs}, LeaseTTL: 10 * time.Second}
	return l
}

// record stores a new record in connecting for a MinIO bucket with
// working credentials (sealed into it) and returns it.
func (l *local) record(t *testing.T, deadline time.Duration) *verification.Record {
	t.Helper()
	bucket := testenv.BucketName(t, "w")
	l.minio.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	l.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	req := verification.Request{Provider: "other", AccessKey: ak, Bucket: bucket, Endpoint: l.minio.Endpoint}
	key := randomHex(32)
	sealed, err := verification.SealCredentials(t.Context(), l.sealer, 1, key, storageconfig.Credentials{"access_key_id": ak, "secret_access_key": sk})
	if err != nil {
		t.Fatal(err)
	}
	r := verification.NewRecord(time.Now(), key, 1, req, sealed, deadline)
	if err := r.SealSignedURLTo(testVerifyKey); err != nil {
		t.Fatal(err)
	}
	if err := l.store.CreateVerification(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (l *local) get(t *testing.T, key string) *verification.Record {
	t.Helper()
	r, err := l.store.GetVerification(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testVerifyKey stands for Server.VerifyKey: the signed URLs of the
// records these tests store are sealed to keys it derives.
var testVerifyKey = []byte("0123456789abcdef0123456789abcdef")

func msg(key string) queue.Message {
	return queue.Message{Kind: queue.KindVerify, Key: key, Attempt: 1}
}

func TestHandle(t *testing.T) {
	l := newLocal(t)
	ctx := t.Context()

	t.Run("runs a verification once", func(t *testing.T) {
		r := l.record(t, 0)
		if err := l.worker.Handle(ctx, msg(r.Key)); err != nil {
			t.Fatal(err)
		}
		got := l.get(t, r.Key)
		if got.State != verification.StateConnected || got.Attempts != 1 || len(got.Sealed) != 0 || got.Lease.Owner != "" || got.Result.SignedURL == "" {
			t.Fatalf("record: %+v", got)
		}
		// The record holds the signed URL sealed; the server secret opens it.
		signed, err := got.OpenSignedURL(testVerifyKey)
		if err != nil || !strings.Contains(signed, "X-Amz-Signature=") {
			t.Fatalf("OpenSignedURL = %q, %v", signed, err)
		}
		if strings.Contains(got.Result.SignedURL, "X-Amz-") || strings.Contains(got.Result.SignedURL, l.minio.Endpoint) {
			t.Errorf("the stored record holds the signed URL in plain text: %q", got.Result.SignedURL)
		}
		runs := l.runs.Load()
		// A duplicate: nothing happens.
		if err := l.worker.Handle(ctx, msg(r.Key)); err != nil || l.runs.Load() != runs || l.get(t, r.Key).Version != got.Version {
			t.Errorf("duplicate: err %v, runs %d -> %d", err, runs, l.runs.Load())
		}
	})

	t.Run("nothing to do", func(t *testing.T) {
		runs := l.runs.Load()
		for _, m := range []queue.Message{msg(randomHex(32)), {Kind: queue.KindReverify, Key: "x"}} {
			if err := l.worker.Handle(ctx, m); err != nil {
				t.Errorf("%s: %v", m, err)
			}
		}
		if l.runs.Load() != runs {
			t.Error("ran something")
		}
	})

	t.Run("past its deadline: timed out, not run", func(t *testing.T) {
		r := l.record(t, 50*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		runs := l.runs.Load()
		if err := l.worker.Handle(ctx, msg(r.Key)); err != nil {
			t.Fatal(err)
		}
		got := l.get(t, r.Key)
		if got.State != verification.StateError || got.Result.ConnectionError != verification.TimeoutMessage || len(got.Sealed) != 0 || l.runs.Load() != runs {
			t.Errorf("record: %+v, runs %d -> %d", got, runs, l.runs.Load())
		}
		if last := got.Events[len(got.Events)-1]; last.Type != verification.EventVerificationTimedOut || !last.At.Equal(r.Deadline) {
			t.Errorf("last event %+v, want VerificationTimedOut at the deadline %s", last, r.Deadline)
		}
	})

	t.Run("leased by another run: deliver again later", func(t *testing.T) {
		r := l.record(t, 0)
		if err := r.AcquireLease("someone-else", time.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := l.store.UpdateVerification(ctx, r); err != nil {
			t.Fatal(err)
		}
		err := l.worker.Handle(ctx, msg(r.Key))
		var held *verifyworker.LeaseHeldError
		if !errors.As(err, &held) || !errors.Is(err, verification.ErrLeaseHeld) || !held.Until.Equal(r.Lease.Until) {
			t.Fatalf("err = %v, want a LeaseHeldError until %s", err, r.Lease.Until)
		}
		if got := l.get(t, r.Key); got.Version != r.Version || got.State != verification.StateConnecting {
			t.Errorf("record written: %+v", got)
		}
	})

	t.Run("a stored config that is gone", func(t *testing.T) {
		r := verification.NewRecord(time.Now(), randomHex(32), 1, verification.Request{BucketID: "3f0c9a2e-8d5b-4c61-9a4e-2b7f1d0c6e58"}, nil, 0)
		if err := l.store.CreateVerification(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := l.worker.Handle(ctx, msg(r.Key)); err != nil {
			t.Fatal(err)
		}
		got := l.get(t, r.Key)
		if got.State != verification.StateError || !strings.Contains(got.Result.ConnectionError, "bucketId: The storage config bucketId names no longer exists.") {
			t.Errorf("record: %+v", got)
		}
	})

	t.Run("stopped mid-run: nothing written, lease left to expire", func(t *testing.T) {
		r := l.record(t, 0)
		cctx, cancel := context.WithCancel(ctx)
		w := &verifyworker.Worker{Store: l.store, Sealer: l.sealer, Verifier: cancelling{cancel: cancel}, LeaseTTL: time.Minute}
		if err := w.Handle(cctx, msg(r.Key)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		got := l.get(t, r.Key)
		if got.State != verification.StateConnecting || got.Lease.Owner == "" || len(got.Sealed) == 0 {
			t.Errorf("record: %+v", got)
		}
	})
}

// cancelling cancels the worker's context as soon as the run starts.
type cancelling struct {
	cancel context.CancelFunc
}

func (c cancelling) VerifyBucket(ctx context.Context, cfg *storageconfig.Config, creds storageconfig.Credentials) verify.BucketResult {
	c.cancel()
	<-ctx.Done()
	return verify.BucketResult{}
}

func TestRetrySchedule(t *testing.T) {
	tests := []struct {
		name     string
		lease    time.Duration
		attempts []int
		want     []time.Duration
	}{
		{"default lease", 0, []int{1, 2, 3, 10}, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 10 * time.Second}},
		{"short lease", time.Second, []int{1, 2, 3}, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := verifyworker.RetryDelay(tt.lease)
			for i, a := range tt.attempts {
				if got := d(a); got != tt.want[i] {
					t.Errorf("delay(%d) = %s, want %s", a, got, tt.want[i])
				}
			}
		})
	}
	// Enough attempts to outlast a record's deadline.
	d, n := verifyworker.RetryDelay(20*time.Second), verifyworker.MaxAttempts(20*time.Second, time.Minute)
	var total time.Duration
	for a := 1; a < n; a++ {
		total += d(a)
	}
	if total < time.Minute {
		t.Errorf("%d attempts wait %s in all, less than the deadline", n, total)
	}
}
