package verification_test

import (
	"crypto/rand"
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// t0 is the creation time of the records of these tests.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)

func testRequest() verification.Request {
	return verification.Request{
		Provider:  "other",
		AccessKey: "AKIAEXAMPLE",
		Bucket:    "data",
		Endpoint:  "https://minio.example.com:9000",
		Region:    "eu-west-1",
		Prefix:    "images/",
	}
}

func randomSecret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newRecord returns a new record created at t0 with a 60 s deadline and
// some sealed bytes.
func newRecord(t *testing.T) *verification.Record {
	t.Helper()
	return verification.NewRecord(t0, "key-1", 7, testRequest(), []byte{1, 2, 3}, time.Minute)
}

func TestRecordKey(t *testing.T) {
	secret := randomSecret(t)
	userSecret := rand.Text()
	base := testRequest()
	baseKey := verification.RecordKey(secret, 7, base, userSecret)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(baseKey) {
		t.Fatalf("key %q: want 64 lower-case hex digits", baseKey)
	}
	if again := verification.RecordKey(secret, 7, base, userSecret); again != baseKey {
		t.Fatalf("the same request gave keys %s and %s", baseKey, again)
	}
	if strings.Contains(baseKey, userSecret) {
		t.Fatal("the key contains the secret key")
	}

	with := func(f func(*verification.Request)) verification.Request {
		r := base
		f(&r)
		return r
	}
	// Each case changes one input; each must give a key of its own.
	tests := []struct {
		name      string
		secret    []byte
		org       int64
		req       verification.Request
		secretKey string
	}{
		{"server secret", randomSecret(t), 7, base, userSecret},
		{"org", secret, 8, base, userSecret},
		{"provider", secret, 7, with(func(r *verification.Request) { r.Provider = "s3" }), userSecret},
		{"access key", secret, 7, with(func(r *verification.Request) { r.AccessKey += "X" }), userSecret},
		{"secret key", secret, 7, base, userSecret + "x"},
		{"no secret key", secret, 7, base, ""},
		{"bucket id with the secret key", secret, 7, with(func(r *verification.Request) { r.BucketID = "12" }), userSecret},
		{"bucket", secret, 7, with(func(r *verification.Request) { r.Bucket = "data2" }), userSecret},
		{"endpoint", secret, 7, with(func(r *verification.Request) { r.Endpoint = "https://other.example.com" }), userSecret},
		{"region", secret, 7, with(func(r *verification.Request) { r.Region = "eu-west-2" }), userSecret},
		{"prefix", secret, 7, with(func(r *verification.Request) { r.Prefix = "images/2025/" }), userSecret},
		// Length prefixes: moving a boundary between fields changes the key.
		{"bucket/endpoint boundary", secret, 7, with(func(r *verification.Request) {
			r.Bucket, r.Endpoint = base.Bucket+base.Endpoint[:1], base.Endpoint[1:]
		}), userSecret},
		{"region/prefix boundary", secret, 7, with(func(r *verification.Request) {
			r.Region, r.Prefix = base.Region+base.Prefix, ""
		}), userSecret},
	}
	seen := map[string]string{baseKey: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := verification.RecordKey(tt.secret, tt.org, tt.req, tt.secretKey)
			if prev, dup := seen[k]; dup {
				t.Fatalf("same key as %q", prev)
			}
			seen[k] = tt.name
		})
	}

	t.Run("stored credentials are not a secret key", func(t *testing.T) {
		// A bucket id without a secret key uses the stored credentials;
		// a request whose secret key is the marker text must not collide.
		stored := with(func(r *verification.Request) { r.BucketID = "12" })
		a := verification.RecordKey(secret, 7, stored, "")
		for _, sk := range []string{"credentials:stored", "12", "credentials:none"} {
			if verification.RecordKey(secret, 7, stored, sk) == a {
				t.Errorf("secret key %q gives the key of the stored credentials", sk)
			}
		}
		if verification.RecordKey(secret, 7, with(func(r *verification.Request) { r.BucketID = "13" }), "") == a {
			t.Error("two bucket ids give the same key")
		}
	})
}

func TestRecordRequestHoldsNoSecret(t *testing.T) {
	typ := reflect.TypeFor[verification.Request]()
	for i := range typ.NumField() {
		if name := strings.ToLower(typ.Field(i).Name); strings.Contains(name, "secret") || strings.Contains(name, "password") {
			t.Errorf("Request has a field %s: secrets go to Sealed and RecordKey only", typ.Field(i).Name)
		}
	}
}

func TestRecordNew(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*3600)
	now := time.Date(2025, 6, 1, 14, 0, 0, 123456789, zone)
	r := verification.NewRecord(now, "k", 7, testRequest(), []byte{9}, 0)
	want := verification.Record{
		Key:         "k",
		OrgID:       7,
		State:       verification.StateConnecting,
		StatusSince: t0,
		Attempts:    1,
		Deadline:    t0.Add(verification.DefaultRecordDeadline),
		Request:     testRequest(),
		Sealed:      []byte{9},
		Events:      []verification.Event{{Type: verification.EventVerificationStarted, At: t0}},
		Version:     1,
		ExpiresAt:   t0.Add(verification.RecordRetention),
		CreatedAt:   t0,
	}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("NewRecord:\n got %+v\nwant %+v", *r, want)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("a new record does not validate: %v", err)
	}
	if d := verification.NewRecord(now, "k", 7, testRequest(), nil, 5*time.Second).Deadline; !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("deadline with 5s: got %v", d)
	}
}

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *verification.Record)
		ok     bool
	}{
		{"new", func(*verification.Record) {}, true},
		{"no key", func(r *verification.Record) { r.Key = "" }, false},
		{"unknown state", func(r *verification.Record) { r.State = "done" }, false},
		{"version 0", func(r *verification.Record) { r.Version = 0 }, false},
		{"no expiry", func(r *verification.Record) { r.ExpiresAt = time.Time{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(t)
			tt.change(r)
			if err := r.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate: got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRecordAcquireLease(t *testing.T) {
	leased := func(owner string, until time.Time) func(*verification.Record) {
		return func(r *verification.Record) { r.Lease = verification.Lease{Owner: owner, Until: until} }
	}
	completed := func(r *verification.Record) {
		if err := r.Complete(t0.Add(time.Second), verification.RecordResult{}, nil); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name         string
		setup        func(*verification.Record)
		owner        string
		at           time.Duration // after t0
		ttl          time.Duration
		wantErr      error // nil: success
		wantAttempts int
	}{
		{"free", nil, "w1", time.Second, 10 * time.Second, nil, 1},
		{"held by another", leased("w0", t0.Add(20*time.Second)), "w1", time.Second, 10 * time.Second, verification.ErrLeaseHeld, 1},
		{"held by the same owner", leased("w1", t0.Add(20*time.Second)), "w1", time.Second, 10 * time.Second, verification.ErrLeaseHeld, 1},
		{"expired: a takeover is a new attempt", leased("w0", t0.Add(20*time.Second)), "w1", 20 * time.Second, 10 * time.Second, nil, 2},
		{"final", completed, "w1", 2 * time.Second, 10 * time.Second, verification.ErrFinal, 1},
		{"past deadline", nil, "w1", time.Minute, 10 * time.Second, verification.ErrPastDeadline, 1},
		{"past deadline is final", nil, "w1", 2 * time.Minute, 10 * time.Second, verification.ErrFinal, 1},
		{"no owner", nil, "", time.Second, 10 * time.Second, errAny, 1},
		{"no duration", nil, "w1", time.Second, 0, errAny, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			before := cloneRecord(r)
			now := t0.Add(tt.at)
			err := r.AcquireLease(tt.owner, now, tt.ttl)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("AcquireLease: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("AcquireLease: got %v, want %v", err, tt.wantErr)
			case err != nil:
				if !reflect.DeepEqual(r, before) {
					t.Errorf("a failed AcquireLease changed the record:\n got %+v\nwant %+v", r, before)
				}
				return
			}
			if want := (verification.Lease{Owner: tt.owner, Until: now.Add(tt.ttl)}); r.Lease != want {
				t.Errorf("lease: got %+v, want %+v", r.Lease, want)
			}
			if r.Attempts != tt.wantAttempts {
				t.Errorf("attempts: got %d, want %d", r.Attempts, tt.wantAttempts)
			}
			if r.State != verification.StateConnecting || len(r.Events) != 1 {
				t.Errorf("a lease changed the state or history: %s, %v", r.State, r.Events)
			}
		})
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

func cloneRecord(r *verification.Record) *verification.Record {
	c := *r
	c.Sealed = append([]byte(nil), r.Sealed...)
	c.Events = append([]verification.Event(nil), r.Events...)
	c.Result.Files = append([]verification.File(nil), r.Result.Files...)
	if r.Sealed == nil {
		c.Sealed = nil
	}
	if r.Result.Files == nil {
		c.Result.Files = nil
	}
	return &c
}

var testChecks = []verification.Check{
	{Name: "list", OK: true, Code: "ok", Message: "listed 3 objects"},
	{Name: "write", OK: false, Code: "access_denied", Message: "no s3:PutObject"},
}

func TestRecordComplete(t *testing.T) {
	r := newRecord(t)
	if err := r.AcquireLease("w1", t0.Add(time.Second), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	res := verification.RecordResult{
		Files:             []verification.File{{Name: "a.jpg", Size: 10, FolderName: "images/"}},
		HasInfoLabelsFile: true,
		SignedURL:         "https://minio.example.com/data/images/x?X-Amz-Signature=abc",
		Endpoint:          "https://acct.blob.core.windows.net",
		ConnectionError:   "ignored",
	}
	done := t0.Add(3*time.Second + 999)
	if err := r.Complete(done, res, testChecks); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	at := done.Truncate(time.Microsecond)
	wantRes := res
	wantRes.ConnectionError = ""
	wantRes.SignedURL = "" // no key to seal it to (SealSignedURLTo): dropped, never kept plain
	switch {
	case r.State != verification.StateConnected, !r.StatusSince.Equal(at):
		t.Errorf("state %s since %v, want connected since %v", r.State, r.StatusSince, at)
	case !reflect.DeepEqual(r.Result, wantRes):
		t.Errorf("result: got %+v, want %+v", r.Result, wantRes)
	case r.Sealed != nil:
		t.Errorf("sealed credentials kept: %x", r.Sealed)
	case r.Lease != verification.Lease{}:
		t.Errorf("lease kept: %+v", r.Lease)
	case r.Attempts != 1:
		t.Errorf("attempts: %d, want 1", r.Attempts)
	}
	wantEvents := []verification.Event{
		{Type: verification.EventVerificationStarted, At: t0},
		{Type: verification.EventCheckSucceeded, At: at, Check: "list", Code: "ok", Message: "listed 3 objects"},
		{Type: verification.EventCheckFailed, At: at, Check: "write", Code: "access_denied", Message: "no s3:PutObject"},
		{Type: verification.EventVerificationSucceeded, At: at},
	}
	if !reflect.DeepEqual(r.Events, wantEvents) {
		t.Errorf("events:\n got %+v\nwant %+v", r.Events, wantEvents)
	}
	wantFinal(t, r)
}

// wantFinal checks that no transition moves the final record r, and that
// each failure leaves it unchanged.
func wantFinal(t *testing.T, r *verification.Record) {
	t.Helper()
	before := cloneRecord(r)
	later := r.StatusSince.Add(time.Second)
	transitions := []struct {
		name string
		call func() error
	}{
		{"Complete", func() error { return r.Complete(later, verification.RecordResult{}, nil) }},
		{"Fail", func() error { return r.Fail(later, "boom", nil) }},
		{"TimeOut", func() error { return r.TimeOut(later) }},
		{"AcquireLease", func() error { return r.AcquireLease("w9", later, time.Second) }},
	}
	for _, tr := range transitions {
		if err := tr.call(); !errors.Is(err, verification.ErrFinal) {
			t.Errorf("%s of a %s record: got %v, want ErrFinal", tr.name, before.State, err)
		}
		if !reflect.DeepEqual(r, before) {
			t.Fatalf("%s of a final record changed it:\n got %+v\nwant %+v", tr.name, r, before)
		}
	}
}

func TestRecordFail(t *testing.T) {
	tests := []struct {
		name, message, want string
	}{
		{"message", "The bucket does not exist", "The bucket does not exist"},
		{"empty message", "", "verification failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(t)
			at := t0.Add(2 * time.Second)
			if err := r.Fail(at, tt.message, testChecks[:1]); err != nil {
				t.Fatalf("Fail: %v", err)
			}
			wantEvents := []verification.Event{
				{Type: verification.EventVerificationStarted, At: t0},
				{Type: verification.EventCheckSucceeded, At: at, Check: "list", Code: "ok", Message: "listed 3 objects"},
				{Type: verification.EventVerificationFailed, At: at, Message: tt.want},
			}
			switch {
			case r.State != verification.StateError, !r.StatusSince.Equal(at):
				t.Errorf("state %s since %v, want error since %v", r.State, r.StatusSince, at)
			case !reflect.DeepEqual(r.Result, verification.RecordResult{ConnectionError: tt.want}):
				t.Errorf("result: %+v", r.Result)
			case r.Sealed != nil:
				t.Errorf("sealed credentials kept")
			case !reflect.DeepEqual(r.Events, wantEvents):
				t.Errorf("events:\n got %+v\nwant %+v", r.Events, wantEvents)
			}
			wantFinal(t, r)
		})
	}

	t.Run("past deadline", func(t *testing.T) {
		r := newRecord(t)
		before := cloneRecord(r)
		for name, call := range map[string]func() error{
			"Fail":     func() error { return r.Fail(r.Deadline, "late", nil) },
			"Complete": func() error { return r.Complete(r.Deadline.Add(time.Second), verification.RecordResult{}, nil) },
		} {
			if err := call(); !errors.Is(err, verification.ErrPastDeadline) || !errors.Is(err, verification.ErrFinal) {
				t.Errorf("%s past the deadline: got %v, want ErrPastDeadline (and ErrFinal)", name, err)
			}
		}
		if !reflect.DeepEqual(r, before) {
			t.Errorf("a late transition changed the record")
		}
	})
}

func TestRecordTimeOut(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Duration // after t0
		wantAt time.Duration
	}{
		{"before the deadline: now", 10 * time.Second, 10 * time.Second},
		{"at the deadline", time.Minute, time.Minute},
		{"after the deadline: the deadline", 5 * time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(t)
			if err := r.AcquireLease("w1", t0, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := r.TimeOut(t0.Add(tt.at)); err != nil {
				t.Fatalf("TimeOut: %v", err)
			}
			at := t0.Add(tt.wantAt)
			last := r.Events[len(r.Events)-1]
			switch {
			case r.State != verification.StateError, !r.StatusSince.Equal(at):
				t.Errorf("state %s since %v, want error since %v", r.State, r.StatusSince, at)
			case r.Result.ConnectionError != verification.TimeoutMessage:
				t.Errorf("connection error %q", r.Result.ConnectionError)
			case last != verification.Event{Type: verification.EventVerificationTimedOut, At: at, Message: verification.TimeoutMessage}:
				t.Errorf("last event %+v", last)
			case r.Sealed != nil, r.Lease != verification.Lease{}:
				t.Errorf("sealed %x or lease %+v kept", r.Sealed, r.Lease)
			}
			wantFinal(t, r)
		})
	}
}

func TestRecordView(t *testing.T) {
	t.Run("before the deadline", func(t *testing.T) {
		r := newRecord(t)
		before := cloneRecord(r)
		v := r.View(t0.Add(59 * time.Second))
		want := *cloneRecord(r)
		want.Sealed = nil
		if !reflect.DeepEqual(v, want) {
			t.Errorf("view:\n got %+v\nwant %+v", v, want)
		}
		if !reflect.DeepEqual(r, before) {
			t.Error("View changed the record")
		}
	})

	t.Run("past the deadline, no worker ever ran", func(t *testing.T) {
		r := newRecord(t)
		before := cloneRecord(r)
		v := r.View(t0.Add(10 * time.Minute))
		if v.State != verification.StateError || !v.StatusSince.Equal(r.Deadline) || v.Result.ConnectionError != verification.TimeoutMessage {
			t.Errorf("view: %s since %v (%q), want error since the deadline %v with %q",
				v.State, v.StatusSince, v.Result.ConnectionError, r.Deadline, verification.TimeoutMessage)
		}
		if v.Sealed != nil {
			t.Error("the view holds the sealed credentials")
		}
		if !reflect.DeepEqual(r, before) {
			t.Fatal("View changed the record")
		}
		// Writing the timeout later stores exactly what was shown.
		stored := cloneRecord(r)
		if err := stored.TimeOut(t0.Add(20 * time.Minute)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, stored.View(t0.Add(30*time.Minute))) {
			t.Errorf("view before the write differs from after:\n got %+v\nwant %+v", v, *stored)
		}
		// The view does not share the record's history.
		v.Events[0].Message = "changed"
		if r.Events[0].Message != "" {
			t.Error("the view shares the record's events")
		}
	})

	t.Run("final records are shown as stored", func(t *testing.T) {
		r := newRecord(t)
		if err := r.Fail(t0.Add(time.Second), "nope", nil); err != nil {
			t.Fatal(err)
		}
		if v := r.View(t0.Add(time.Hour)); !reflect.DeepEqual(v, *r) {
			t.Errorf("view of a final record:\n got %+v\nwant %+v", v, *r)
		}
	})
}

func TestRecordRestartable(t *testing.T) {
	failed := func(at time.Duration) func(*verification.Record) {
		return func(r *verification.Record) {
			if err := r.Fail(t0.Add(at), "nope", nil); err != nil {
				panic(err)
			}
		}
	}
	tests := []struct {
		name  string
		setup func(*verification.Record)
		at    time.Duration // after t0
		want  bool
	}{
		{"connecting", nil, 10 * time.Second, false},
		{"connecting with the deadline just passed", nil, time.Minute + time.Second, false},
		{"connecting, past the deadline by the window", nil, time.Minute + verification.RestartWindow, true},
		{"final within the window", failed(5 * time.Second), 5*time.Second + verification.RestartWindow - time.Microsecond, false},
		{"final for the window", failed(5 * time.Second), 5*time.Second + verification.RestartWindow, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			if got := r.Restartable(t0.Add(tt.at), verification.RestartWindow); got != tt.want {
				t.Errorf("Restartable: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecordCredentials(t *testing.T) {
	ctx := t.Context()
	s, err := localseal.Open(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	creds := storageconfig.Credentials{"access_key_id": "AKIAEXAMPLE", "secret_access_key": rand.Text()}
	key := verification.RecordKey(randomSecret(t), 7, testRequest(), creds["secret_access_key"])
	sealed, err := verification.SealCredentials(ctx, s, 7, key, creds)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if strings.Contains(string(sealed), creds["secret_access_key"]) {
		t.Fatal("the sealed envelope holds the secret in plain text")
	}
	r := verification.NewRecord(t0, key, 7, testRequest(), sealed, 0)
	got, err := r.OpenCredentials(ctx, s)
	if err != nil || !maps.Equal(got, creds) {
		t.Fatalf("open: got %v, %v; want the sealed credentials", maps.Equal(got, creds), err)
	}

	moved := cloneRecord(r)
	moved.Key = key[:63] + "0"
	if moved.Key == key {
		moved.Key = key[:63] + "1"
	}
	other := cloneRecord(r)
	other.OrgID = 8
	for name, m := range map[string]*verification.Record{"another key": moved, "another org": other} {
		if _, err := m.OpenCredentials(ctx, s); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("open under %s: got %v, want seal.ErrOpen", name, err)
		}
	}
	if b := verification.RecordBinding(7, key); b.ConfigUID == key {
		t.Error("the record binding could equal a config's binding")
	}
	if err := r.Complete(t0.Add(time.Second), verification.RecordResult{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.OpenCredentials(ctx, s); err == nil {
		t.Error("a final record still opens credentials")
	}
}

// TestRecordSignedURL: a record set up with SealSignedURLTo stores its
// signed URL only sealed, from the first write to the last; a poll with
// the server secret opens it, nothing else does, and View never shows the
// stored form.
func TestRecordSignedURL(t *testing.T) {
	secret := randomSecret(t)
	const signed = "https://minio.example.com/data/images/.bucketlink-cors-test-1?X-Amz-Credential=AKIAEXAMPLE%2F20250601&X-Amz-Signature=0123456789abcdef"
	key := verification.RecordKey(secret, 7, testRequest(), "s3cr3t")
	r := verification.NewRecord(t0, key, 7, testRequest(), nil, time.Minute)
	if err := r.SealSignedURLTo(secret); err != nil {
		t.Fatal(err)
	}
	recipient := r.Result.SignedURL
	if recipient == "" {
		t.Fatal("SealSignedURLTo stored no key")
	}
	if got, err := r.OpenSignedURL(secret); got != "" || err != nil {
		t.Errorf("a connecting record opens %q, %v; want nothing", got, err)
	}
	if v := r.View(t0); v.Result.SignedURL != "" {
		t.Errorf("View shows the stored key: %q", v.Result.SignedURL)
	}
	if err := r.AcquireLease("w1", t0.Add(time.Second), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.Complete(t0.Add(2*time.Second), verification.RecordResult{SignedURL: signed}, nil); err != nil {
		t.Fatal(err)
	}
	stored := r.Result.SignedURL
	for _, part := range []string{signed, "X-Amz-Signature", "0123456789abcdef", "minio.example.com"} {
		if strings.Contains(stored, part) {
			t.Fatalf("the completed record holds %q in plain text: %q", part, stored)
		}
	}
	if stored == recipient || stored == "" {
		t.Fatalf("Complete did not seal the URL: %q", stored)
	}
	if v := r.View(t0.Add(3 * time.Second)); v.Result.SignedURL != "" {
		t.Errorf("View shows the sealed URL: %q", v.Result.SignedURL)
	}
	got, err := r.OpenSignedURL(secret)
	if err != nil || got != signed {
		t.Fatalf("OpenSignedURL = %q, %v; want the URL", got, err)
	}
	if _, err := r.OpenSignedURL(randomSecret(t)); err == nil {
		t.Error("another server secret opens the URL")
	}
	moved := cloneRecord(r)
	moved.Key = "another-key"
	if _, err := moved.OpenSignedURL(secret); err == nil {
		t.Error("the sealed URL opens as another record's")
	}
	// Sealing is randomised: the same URL seals differently each time.
	again := verification.NewRecord(t0, key, 7, testRequest(), nil, time.Minute)
	if err := again.SealSignedURLTo(secret); err != nil {
		t.Fatal(err)
	}
	if err := again.Complete(t0.Add(time.Second), verification.RecordResult{SignedURL: signed}, nil); err != nil {
		t.Fatal(err)
	}
	if again.Result.SignedURL == stored {
		t.Error("two sealings of one URL are equal")
	}
	if err := r.SealSignedURLTo([]byte("short")); err == nil {
		t.Error("a short server secret was accepted")
	}
}

// TestRecordGrant: the grant sealed with the credentials comes back from
// OpenRun; the old form (SealCredentials) has none.
func TestRecordGrant(t *testing.T) {
	ctx := t.Context()
	s, err := localseal.Open(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := verification.SealRun(ctx, s, 7, "key-1", storageconfig.Credentials{}, verification.Grant{ReplaceStored: true})
	if err != nil {
		t.Fatal(err)
	}
	r := verification.NewRecord(t0, "key-1", 7, testRequest(), sealed, 0)
	creds, grant, err := r.OpenRun(ctx, s)
	if err != nil || len(creds) != 0 || !grant.ReplaceStored {
		t.Fatalf("OpenRun = %+v, %+v, %v; want no credentials and the grant", creds, grant, err)
	}
	plainCreds := storageconfig.Credentials{"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s"}
	if sealed, err = verification.SealCredentials(ctx, s, 7, "key-1", plainCreds); err != nil {
		t.Fatal(err)
	}
	r = verification.NewRecord(t0, "key-1", 7, testRequest(), sealed, 0)
	if creds, grant, err = r.OpenRun(ctx, s); err != nil || !maps.Equal(creds, plainCreds) || grant.ReplaceStored {
		t.Fatalf("OpenRun of sealed credentials = %+v, %+v, %v", creds, grant, err)
	}
}

// BenchmarkOpenSignedURL is what a poll of a connected record pays to
// show its signed URL (no key service call).
func BenchmarkOpenSignedURL(b *testing.B) {
	secret := make([]byte, 32)
	r := verification.NewRecord(t0, "key-1", 7, testRequest(), nil, time.Minute)
	if err := r.SealSignedURLTo(secret); err != nil {
		b.Fatal(err)
	}
	if err := r.Complete(t0.Add(time.Second), verification.RecordResult{SignedURL: "https://minio.example.com/data/x?X-Amz-Signature=0123"}, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.OpenSignedURL(secret); err != nil {
			b.Fatal(err)
		}
	}
}
