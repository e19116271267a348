package storetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// SweepMode says what SweepVerifications does in the store under test.
type SweepMode int

const (
	// SweepDeletes: SweepVerifications deletes the records expired at the
	// time it is given and returns how many (the SQLite store).
	SweepDeletes SweepMode = iota + 1
	// SweepByTTL: SweepVerifications deletes nothing and returns 0,
	// because the database expires records itself (DynamoDB's TTL).
	SweepByTTL
)

// RunVerifications runs the suite of store.Verifications. newStore must
// return a fresh, empty store for each subtest; when it is an io.Closer,
// the suite closes it as the subtest ends. sweep says which of the two
// documented behaviours of SweepVerifications the store has.
//
// Besides the contract written in package store, the suite pins down that
// every field of a record round-trips (times as the same instant in UTC,
// nil and empty slices alike), that a failed write leaves r.Version alone,
// and that a final record can be neither moved by verify's transitions nor
// overwritten by a writer holding an older version.
func RunVerifications(t *testing.T, newStore func(t *testing.T) store.Verifications, sweep SweepMode) {
	t.Helper()
	open := func(t *testing.T) store.Verifications {
		t.Helper()
		s := newStore(t)
		if c, ok := s.(io.Closer); ok {
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
		}
		return s
	}
	t.Run("RoundTrip", func(t *testing.T) { testVerificationRoundTrip(t, open(t)) })
	t.Run("CreateDuplicate", func(t *testing.T) { testVerificationDuplicate(t, open(t)) })
	t.Run("CreateConcurrent", func(t *testing.T) { testVerificationConcurrentCreate(t, open(t)) })
	t.Run("GetMissing", func(t *testing.T) {
		_, err := open(t).GetVerification(context.Background(), randomKey())
		wantCode(t, err, errcode.ErrNotFound, "get a missing verification")
	})
	t.Run("Update", func(t *testing.T) { testVerificationUpdate(t, open(t)) })
	t.Run("LeaseRace", func(t *testing.T) { testVerificationLeaseRace(t, open(t)) })
	t.Run("FinalNeverGoesBack", func(t *testing.T) { testVerificationFinal(t, open(t)) })
	t.Run("Replace", func(t *testing.T) { testVerificationReplace(t, open(t)) })
	t.Run("Expired", func(t *testing.T) { testVerificationExpired(t, open(t)) })
	t.Run("Sweep", func(t *testing.T) { testVerificationSweep(t, open(t), sweep) })
	t.Run("Invalid", func(t *testing.T) { testVerificationInvalid(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testVerificationCancelled(t, open(t)) })
}

// NewVerification returns a new record of orgID, as the service would
// create it: a random key, a request for an S3-compatible bucket, 64 random
// sealed bytes, created now with the default deadline.
func NewVerification(orgID int64) *verification.Record {
	req := verification.Request{
		Provider: "other", AccessKey: "AKIA" + hex.EncodeToString(randomBytes(8)),
		Bucket: "bucket", Endpoint: "https://minio.example.com:9000", Region: "us-east-1",
	}
	return verification.NewRecord(storageconfig.Now(), randomKey(), orgID, req, randomBytes(64), 0)
}

func randomKey() string { return hex.EncodeToString(randomBytes(32)) }

// fullVerification returns a record with every field set to a non-zero
// value and times in a non-UTC zone, for round-trip tests. (Its state and
// fields need not make sense together: stores do not interpret them.)
func fullVerification(t *testing.T) *verification.Record {
	t.Helper()
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	now := storageconfig.Now().In(zone)
	r := NewVerification(42)
	r.State = verification.StateConnected
	r.StatusSince = now.Add(3 * time.Second)
	r.Attempts = 3
	r.Deadline = now.Add(time.Minute)
	r.Lease = verification.Lease{Owner: "worker-7 ✓", Until: now.Add(20 * time.Second)}
	r.Request = verification.Request{
		Provider: "azure", AccessKey: "account", BucketID: "5d0c7e4e-6c2a-4a39-8b1a-0d7c2f5b9e11",
		Bucket: "container", Endpoint: "https://account.blob.core.windows.net/", Region: "westeurope",
		Prefix: "data/\"quoted\"/ünï/",
	}
	r.Events = []verification.Event{
		{Type: verification.EventVerificationStarted, At: now},
		{Type: verification.EventCheckSucceeded, At: now.Add(time.Second), Check: "list", Code: "ok", Message: "listed 3"},
		{Type: verification.EventCheckFailed, At: now.Add(2 * time.Second), Check: "write", Code: "access_denied", Message: "no <PutObject> & \"more\""},
		{Type: verification.EventVerificationSucceeded, At: now.Add(3 * time.Second)},
	}
	r.Result = verification.RecordResult{
		Files: []verification.File{
			{Name: "data/a.jpg", Size: 1 << 40, FolderName: "data/"},
			{Name: "data/sub/b c.json", Size: 0, FolderName: "data/sub/"},
		},
		HasInfoLabelsFile:    true,
		SignedURL:            "https://account.blob.core.windows.net/container/data/x?sig=abc%2Bdef&se=2025",
		SignedURLUnavailable: "kept as given too",
		Endpoint:             "https://account.blob.core.windows.net",
		ConnectionError:      "kept as given",
		CORS: &corscheck.Report{
			Origins: []corscheck.OriginResult{{
				Origin:  "https://app.example.com",
				Upload:  corscheck.Answer{Code: corscheck.CodeHeaderNotAllowed, Status: 200, Reason: "x-ms-blob-type is not allowed", Header: "x-ms-blob-type"},
				Read:    corscheck.Answer{Allowed: true, Status: 200, Reason: "allowed"},
				Code:    corscheck.CodeHeaderNotAllowed,
				Message: "the upload's \"x-ms-blob-type\" header is refused",
			}},
			Code:      corscheck.CodeHeaderNotAllowed,
			Message:   "one origin refused",
			RulesRead: true,
			RulesNote: "read with the account key",
			Fix:       &corscheck.Fix{Command: "az storage cors add --services b", Merged: true},
		},
	}
	r.Version = 9
	r.ExpiresAt = now.Add(time.Hour)
	r.CreatedAt = now.Add(-time.Second)
	for _, v := range []reflect.Value{reflect.ValueOf(r).Elem(), reflect.ValueOf(r.Result), reflect.ValueOf(r.Request)} {
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("fullVerification leaves %s.%s zero: set it so the round trip covers it", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
	}
	return r
}

// diffRecord lists where got differs from want, field by field and into
// nested values: times must be equal instants in UTC, and nil and empty
// slices are equal.
func diffRecord(want, got *verification.Record) []string {
	var diffs []string
	diffValue("", reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem(), &diffs)
	return diffs
}

func diffValue(path string, w, g reflect.Value, diffs *[]string) {
	switch {
	case w.Type() == reflect.TypeFor[time.Time]():
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !gt.Equal(wt) || gt.IsZero() != wt.IsZero() {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want %v", path, gt, wt))
		} else if gt.Location() != time.UTC {
			*diffs = append(*diffs, fmt.Sprintf("%s: got location %v, want UTC", path, gt.Location()))
		}
	case w.Type() == reflect.TypeFor[[]byte]():
		if !bytes.Equal(w.Bytes(), g.Bytes()) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %d bytes %x, want %d bytes %x", path, g.Len(), g.Bytes(), w.Len(), w.Bytes()))
		}
	case w.Kind() == reflect.Slice:
		if w.Len() != g.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %d elements %+v, want %d %+v", path, g.Len(), g.Interface(), w.Len(), w.Interface()))
			return
		}
		for i := range w.Len() {
			diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), diffs)
		}
	case w.Kind() == reflect.Struct:
		for i := range w.NumField() {
			diffValue(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i), diffs)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}

// wantRecord fails t unless the stored record with want.Key equals want.
func wantRecord(t *testing.T, s store.Verifications, want *verification.Record) {
	t.Helper()
	got := mustGetVerification(t, s, want.Key)
	for _, d := range diffRecord(want, got) {
		t.Errorf("verification %s: %s", want.Key, d)
	}
}

func mustCreateVerification(t testing.TB, s store.Verifications, rs ...*verification.Record) {
	t.Helper()
	for _, r := range rs {
		if err := s.CreateVerification(context.Background(), r); err != nil {
			t.Fatalf("create verification %s: %v", r.Key, err)
		}
	}
}

func mustGetVerification(t testing.TB, s store.Verifications, key string) *verification.Record {
	t.Helper()
	r, err := s.GetVerification(context.Background(), key)
	if err != nil {
		t.Fatalf("get verification %s: %v", key, err)
	}
	if r == nil {
		t.Fatalf("get verification %s: nil record and nil error", key)
	}
	return r
}

func mustUpdateVerification(t testing.TB, s store.Verifications, r *verification.Record) {
	t.Helper()
	if err := s.UpdateVerification(context.Background(), r); err != nil {
		t.Fatalf("update verification %s: %v", r.Key, err)
	}
}

// cloneRecord returns a deep copy of r.
func cloneRecord(r *verification.Record) *verification.Record {
	c := *r
	c.Sealed = bytes.Clone(r.Sealed)
	c.Events = append([]verification.Event(nil), r.Events...)
	c.Result.Files = append([]verification.File(nil), r.Result.Files...)
	return &c
}

func testVerificationRoundTrip(t *testing.T, s store.Verifications) {
	tests := []struct {
		name string
		r    *verification.Record
	}{
		{"every field", fullVerification(t)},
		{"new", NewVerification(1)},
		{"empty", func() *verification.Record {
			r := NewVerification(1)
			r.Sealed, r.Events, r.Attempts = nil, nil, 0
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := cloneRecord(tt.r)
			mustCreateVerification(t, s, tt.r)
			if !reflect.DeepEqual(want, tt.r) {
				t.Errorf("CreateVerification changed its argument:\n got %+v\nwant %+v", tt.r, want)
			}
			wantRecord(t, s, want)
		})
	}
}

func testVerificationDuplicate(t *testing.T, s store.Verifications) {
	first := NewVerification(1)
	mustCreateVerification(t, s, first)
	second := NewVerification(2)
	second.Key = first.Key
	err := s.CreateVerification(context.Background(), second)
	wantCode(t, err, errcode.ErrAlreadyExists, "create a verification with a taken key")
	wantRecord(t, s, first)
}

// testVerificationConcurrentCreate has many clients post the same request
// at once: exactly one create succeeds.
func testVerificationConcurrentCreate(t *testing.T, s store.Verifications) {
	const clients = 8
	key := randomKey()
	errs := make([]error, clients)
	rs := make([]*verification.Record, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		rs[i] = NewVerification(1)
		rs[i].Key = key
		wg.Go(func() {
			<-start
			errs[i] = s.CreateVerification(context.Background(), rs[i])
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won == -1:
			won = i
		case err == nil:
			t.Fatalf("creates %d and %d of one key both succeeded", won, i)
		case !errors.Is(err, errcode.ErrAlreadyExists):
			t.Fatalf("create %d: got %v, want success or AlreadyExists", i, err)
		}
	}
	if won == -1 {
		t.Fatalf("no create succeeded: %v", errs)
	}
	wantRecord(t, s, rs[won])
}

func testVerificationUpdate(t *testing.T, s store.Verifications) {
	ctx := context.Background()
	t.Run("MatchingVersion", func(t *testing.T) {
		r := NewVerification(1)
		mustCreateVerification(t, s, r)
		u := mustGetVerification(t, s, r.Key)
		if err := u.AcquireLease("w1", time.Now(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		mustUpdateVerification(t, s, u)
		if u.Version != 2 {
			t.Errorf("after update: Version = %d, want 2", u.Version)
		}
		wantRecord(t, s, u)
		if err := u.Complete(time.Now(), verification.RecordResult{SignedURL: "https://x/y?sig=1"}, nil); err != nil {
			t.Fatal(err)
		}
		mustUpdateVerification(t, s, u)
		if u.Version != 3 {
			t.Errorf("after second update: Version = %d, want 3", u.Version)
		}
		wantRecord(t, s, u)
		if got := mustGetVerification(t, s, r.Key); len(got.Sealed) != 0 || got.Lease != (verification.Lease{}) {
			t.Errorf("completed record still stores sealed credentials (%d bytes) or a lease %+v", len(got.Sealed), got.Lease)
		}
	})

	t.Run("StaleVersion", func(t *testing.T) {
		r := NewVerification(1)
		mustCreateVerification(t, s, r)
		first, stale := mustGetVerification(t, s, r.Key), mustGetVerification(t, s, r.Key)
		first.Attempts = 5
		mustUpdateVerification(t, s, first)
		stale.Attempts = 6
		stale.Sealed = randomBytes(8)
		err := s.UpdateVerification(ctx, stale)
		wantCode(t, err, errcode.ErrConflict, "update with a stale version")
		if stale.Version != 1 {
			t.Errorf("failed update changed Version to %d, want it left at 1", stale.Version)
		}
		wantRecord(t, s, first)
	})

	t.Run("Missing", func(t *testing.T) {
		r := NewVerification(1)
		wantCode(t, s.UpdateVerification(ctx, r), errcode.ErrNotFound, "update a missing verification")
		if r.Version != 1 {
			t.Errorf("failed update changed Version to %d", r.Version)
		}
		_, err := s.GetVerification(ctx, r.Key)
		wantCode(t, err, errcode.ErrNotFound, "get after updating a missing verification")
	})
}

// testVerificationLeaseRace has two workers take the lease from the same
// read at once, as two deliveries of one message would: exactly one
// stored write succeeds, and the other worker, reading again, finds the
// lease held.
func testVerificationLeaseRace(t *testing.T, s store.Verifications) {
	for round := range 10 {
		r := NewVerification(1)
		mustCreateVerification(t, s, r)
		read := mustGetVerification(t, s, r.Key)
		workers := []*verification.Record{cloneRecord(read), cloneRecord(read)}
		errs := make([]error, len(workers))
		now := time.Now()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, w := range workers {
			if err := w.AcquireLease(fmt.Sprintf("worker-%d", i), now, 20*time.Second); err != nil {
				t.Fatalf("round %d: worker %d: lease on the read record: %v", round, i, err)
			}
			wg.Go(func() {
				<-start
				errs[i] = s.UpdateVerification(context.Background(), w)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won == -1:
				won = i
			case err == nil:
				t.Fatalf("round %d: both workers took the lease", round)
			case !errors.Is(err, errcode.ErrConflict):
				t.Fatalf("round %d: worker %d: got %v, want success or a conflict", round, i, err)
			}
		}
		if won == -1 {
			t.Fatalf("round %d: no worker took the lease: %v", round, errs)
		}
		lost := workers[1-won]
		if lost.Version != read.Version {
			t.Errorf("round %d: the losing update changed Version to %d", round, lost.Version)
		}
		wantRecord(t, s, workers[won])
		again := mustGetVerification(t, s, r.Key)
		if err := again.AcquireLease(lost.Lease.Owner, time.Now(), 20*time.Second); !errors.Is(err, verification.ErrLeaseHeld) {
			t.Errorf("round %d: the loser reads again and takes the lease: got %v, want ErrLeaseHeld", round, err)
		}
	}
}

// testVerificationFinal completes a record and then tries to move it: the
// domain refuses on a fresh read, and the store refuses a writer that still
// holds the version before completion.
func testVerificationFinal(t *testing.T, s store.Verifications) {
	r := NewVerification(1)
	mustCreateVerification(t, s, r)
	w := mustGetVerification(t, s, r.Key)
	if err := w.AcquireLease("w1", time.Now(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	mustUpdateVerification(t, s, w)
	stale := cloneRecord(w) // a second worker that read the leased record
	if err := w.Complete(time.Now(), verification.RecordResult{Files: []verification.File{{Name: "a", Size: 1}}}, nil); err != nil {
		t.Fatal(err)
	}
	mustUpdateVerification(t, s, w)

	fresh := mustGetVerification(t, s, r.Key)
	if err := fresh.Fail(time.Now(), "late", nil); !errors.Is(err, verification.ErrFinal) {
		t.Errorf("fail a stored connected record: got %v, want ErrFinal", err)
	}
	if err := fresh.Complete(time.Now(), verification.RecordResult{}, nil); !errors.Is(err, verification.ErrFinal) {
		t.Errorf("complete a stored connected record again: got %v, want ErrFinal", err)
	}

	// The stale copy still reads as connecting, so the domain lets it fail;
	// the version check must stop the write.
	if err := stale.Fail(time.Now(), "worker 2 failed", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateVerification(context.Background(), stale), errcode.ErrConflict, "write a stale failure over a final record")
	wantRecord(t, s, w)
}

// testVerificationReplace restarts a final record under its key.
func testVerificationReplace(t *testing.T, s store.Verifications) {
	ctx := context.Background()
	old := NewVerification(1)
	mustCreateVerification(t, s, old)
	if err := old.AcquireLease("w1", time.Now(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	mustUpdateVerification(t, s, old)
	holder := cloneRecord(old) // a worker of the old run, at version 2
	if err := old.Fail(time.Now(), "bucket not found", nil); err != nil {
		t.Fatal(err)
	}
	mustUpdateVerification(t, s, old) // version 3

	next := NewVerification(1)
	next.Key = old.Key
	for _, v := range []int64{old.Version - 1, old.Version + 1} {
		err := s.ReplaceVerification(ctx, next, v)
		wantCode(t, err, errcode.ErrConflict, fmt.Sprintf("replace at version %d of a record at %d", v, old.Version))
		if next.Version != 1 {
			t.Errorf("failed replace changed Version to %d", next.Version)
		}
	}
	wantRecord(t, s, old)

	if err := s.ReplaceVerification(ctx, next, old.Version); err != nil {
		t.Fatalf("replace at the stored version: %v", err)
	}
	if next.Version != old.Version+1 {
		t.Errorf("after replace: Version = %d, want %d (the replaced version + 1)", next.Version, old.Version+1)
	}
	wantRecord(t, s, next)

	// A worker of the old run wakes up: whatever it writes conflicts.
	if err := holder.Complete(time.Now(), verification.RecordResult{}, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateVerification(ctx, holder), errcode.ErrConflict, "a worker of the replaced run writes")
	wantRecord(t, s, next)

	missing := NewVerification(1)
	wantCode(t, s.ReplaceVerification(ctx, missing, 1), errcode.ErrNotFound, "replace a missing verification")
}

// testVerificationExpired checks that a record past its expiry is gone for
// every method, swept or not.
func testVerificationExpired(t *testing.T, s store.Verifications) {
	ctx := context.Background()
	r := NewVerification(1)
	r.ExpiresAt = storageconfig.Now().Add(-time.Minute)
	mustCreateVerification(t, s, r)
	_, err := s.GetVerification(ctx, r.Key)
	wantCode(t, err, errcode.ErrNotFound, "get an expired verification")
	wantCode(t, s.UpdateVerification(ctx, cloneRecord(r)), errcode.ErrNotFound, "update an expired verification")
	wantCode(t, s.ReplaceVerification(ctx, cloneRecord(r), r.Version), errcode.ErrNotFound, "replace an expired verification")

	again := NewVerification(2)
	again.Key = r.Key
	if err := s.CreateVerification(ctx, again); err != nil {
		t.Fatalf("create over an expired verification: %v", err)
	}
	wantRecord(t, s, again)
}

// testVerificationSweep stores records expiring around a sweep time and
// sweeps.
func testVerificationSweep(t *testing.T, s store.Verifications, mode SweepMode) {
	ctx := context.Background()
	at := storageconfig.Now().Add(-10 * time.Second)
	record := func(expires time.Time) *verification.Record {
		r := NewVerification(1)
		r.ExpiresAt = expires
		mustCreateVerification(t, s, r)
		return r
	}
	for _, d := range []time.Duration{-time.Hour, -time.Minute, 0} {
		record(at.Add(d))
	}
	record(at.Add(time.Second)) // expired by the clock, not at the sweep time
	live := []*verification.Record{record(at.Add(time.Hour)), record(at.Add(2 * time.Hour))}

	sweeps := []struct {
		at   time.Time
		want int // SweepDeletes
	}{
		{at, 3},
		{at, 0},
		{time.Now(), 1},
	}
	for i, sw := range sweeps {
		n, err := s.SweepVerifications(ctx, sw.at)
		if err != nil {
			t.Fatalf("sweep %d: %v", i, err)
		}
		want := sw.want
		if mode == SweepByTTL {
			want = 0
		}
		if n != want {
			t.Errorf("sweep %d at %v: deleted %d, want %d", i, sw.at, n, want)
		}
	}
	for _, r := range live {
		wantRecord(t, s, r)
	}
}

// testVerificationInvalid checks that writes refuse a record that does not
// validate, and write nothing.
func testVerificationInvalid(t *testing.T, s store.Verifications) {
	ctx := context.Background()
	r := NewVerification(1)
	mustCreateVerification(t, s, r)
	bad := []struct {
		name   string
		change func(*verification.Record)
	}{
		{"no key", func(r *verification.Record) { r.Key = "" }},
		{"unknown state", func(r *verification.Record) { r.State = "paused" }},
		{"no expiry", func(r *verification.Record) { r.ExpiresAt = time.Time{} }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fresh := NewVerification(1)
			tt.change(fresh)
			if err := s.CreateVerification(ctx, fresh); errcode.CodeOf(err) != errcode.InvalidArgument {
				t.Errorf("create: got %v, want InvalidArgument", err)
			}
			if fresh.Key != "" {
				_, err := s.GetVerification(ctx, fresh.Key)
				wantCode(t, err, errcode.ErrNotFound, "get after an invalid create")
			}
			if tt.name == "no key" {
				return
			}
			u := cloneRecord(r)
			tt.change(u)
			if err := s.UpdateVerification(ctx, u); errcode.CodeOf(err) != errcode.InvalidArgument {
				t.Errorf("update: got %v, want InvalidArgument", err)
			}
			wantRecord(t, s, r)
		})
	}
}

// testVerificationCancelled checks that every method refuses a cancelled
// ctx and, for writes, writes nothing.
func testVerificationCancelled(t *testing.T, s store.Verifications) {
	existing := NewVerification(1)
	mustCreateVerification(t, s, existing)
	fresh := NewVerification(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"CreateVerification", func(ctx context.Context) error { return s.CreateVerification(ctx, fresh) }},
		{"GetVerification", func(ctx context.Context) error { _, err := s.GetVerification(ctx, existing.Key); return err }},
		{"UpdateVerification", func(ctx context.Context) error {
			u := cloneRecord(existing)
			u.Attempts = 9
			return s.UpdateVerification(ctx, u)
		}},
		{"ReplaceVerification", func(ctx context.Context) error {
			u := NewVerification(1)
			u.Key = existing.Key
			return s.ReplaceVerification(ctx, u, existing.Version)
		}},
		{"SweepVerifications", func(ctx context.Context) error {
			_, err := s.SweepVerifications(ctx, time.Now())
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled ctx: got %v, want an error matching context.Canceled", tt.name, err)
			}
		})
	}
	_, err := s.GetVerification(context.Background(), fresh.Key)
	wantCode(t, err, errcode.ErrNotFound, "get after a create with a cancelled ctx")
	wantRecord(t, s, existing)
}
