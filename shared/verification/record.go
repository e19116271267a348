package verification

// Verification records: the persisted state machine behind the
// asynchronous bucket-verify API, in the style of a Step Functions
// execution. This file is pure domain: no I/O, every transition takes the
// time as an argument. The stores (package store, Verifications) persist a
// Record with conditional writes on its Version.
//
// The life of a record:
//
//	NewRecord ──► connecting ──AcquireLease──► connecting (leased, Attempts counts takeovers)
//	                  │
//	                  ├── Complete ──► connected   (final)
//	                  ├── Fail ──────► error       (final)
//	                  └── TimeOut ───► error       (final, "verification timed out")
//
// A record in connecting whose Deadline has passed reads as error with
// "verification timed out" (see View) whether or not any worker ever wrote
// it. A final record never goes back: every transition from it returns an
// error matching ErrFinal. After RestartWindow, a final record may be
// replaced by a new verification under the same key (see Restartable and
// store.Verifications.ReplaceVerification).

import (
	"context"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// Timing of verification records.
const (
	// DefaultRecordDeadline is how long a verification may stay in
	// connecting before it reads as timed out, when NewRecord is given no
	// deadline.
	DefaultRecordDeadline = 60 * time.Second

	// RestartWindow is how long a final record is kept as the answer to
	// the same request before a POST may start a new verification. It is
	// long enough for the clients that polled a run to read its outcome
	// (they poll every second or so), and short enough that a user who
	// fixed their bucket can retry at once. Pass it to Restartable.
	RestartWindow = 30 * time.Second

	// RecordRetention is how long after its creation a record expires: it
	// then reads as missing, DynamoDB's TTL or the SQLite sweep deletes it,
	// and its key may be used again. An hour keeps the execution history of
	// recent runs for debugging, and bounds how long the sealed credentials
	// of a run that no worker finished stay stored.
	RecordRetention = time.Hour

	// TimeoutMessage is the connection error of a record that passed its
	// deadline in connecting.
	TimeoutMessage = "verification timed out"
)

// Errors of the transitions.
var (
	// ErrFinal is returned by a transition of a record that is connected or
	// error, or that reads as error because it passed its deadline.
	ErrFinal = errors.New("verify: verification record is final")
	// ErrPastDeadline is returned by AcquireLease, Complete and Fail on a
	// record still stored in connecting but past its deadline: it already
	// reads as timed out, so the caller should write TimeOut instead. It
	// matches ErrFinal.
	ErrPastDeadline = fmt.Errorf("%w: past its deadline", ErrFinal)
	// ErrLeaseHeld is returned by AcquireLease while another lease (or an
	// earlier one of the same owner) has not expired.
	ErrLeaseHeld = errors.New("verify: verification record is leased")
)

// State is the connection status of a record, as the bucket-verify API
// spells it.
type State string

// The states of a record. Connected and error are final.
const (
	StateConnecting State = "connecting"
	StateConnected  State = "connected"
	StateError      State = "error"
)

// Final reports whether s is connected or error.
func (s State) Final() bool { return s == StateConnected || s == StateError }

// Valid reports whether s is one of the three states.
func (s State) Valid() bool { return s == StateConnecting || s.Final() }

// EventType names an event of a record's history.
type EventType string

// The event types, after the events of a Step Functions execution history.
const (
	EventVerificationStarted   EventType = "VerificationStarted"
	EventCheckSucceeded        EventType = "CheckSucceeded"
	EventCheckFailed           EventType = "CheckFailed"
	EventVerificationSucceeded EventType = "VerificationSucceeded"
	EventVerificationFailed    EventType = "VerificationFailed"
	EventVerificationTimedOut  EventType = "VerificationTimedOut"
)

// Event is one entry of a record's history. Check, Code and Message are set
// for check events (from the Check); Message also holds the connection
// error of VerificationFailed and VerificationTimedOut. None holds a secret.
type Event struct {
	Type    EventType `json:"type"`
	At      time.Time `json:"at"`
	Check   string    `json:"check,omitempty"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Request is the part of a bucket-verify request that selects the bucket
// and affects the result, without any secret: the secret key is sealed into
// Record.Sealed and only its digest enters the record key (see RecordKey).
// Callers apply the API's defaults and normalisation before building it, so
// that equal requests give equal keys.
type Request struct {
	// Provider is the storageProvider: s3, google, azure or other.
	Provider string `json:"storageProvider"`
	// AccessKey is the access key id, or for Azure the account name.
	AccessKey string `json:"accessKey,omitempty"`
	// BucketID names an existing storage config of the org whose stored
	// credentials are used unless a secret key is given; empty when none.
	BucketID string `json:"bucketId,omitempty"`
	Bucket   string `json:"bucket"`
	Endpoint string `json:"endpoint,omitempty"`
	Region   string `json:"region,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
}

// File is one sampled object of a connected bucket, as the bucket-verify
// API shows it.
type File struct {
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	FolderName string `json:"folderName"`
}

// RecordResult is what a finished verification found. Files,
// HasInfoLabelsFile, SignedURL and Endpoint are set when connected
// (Endpoint for Azure only); ConnectionError when error.
type RecordResult struct {
	Files             []File `json:"files,omitempty"`
	HasInfoLabelsFile bool   `json:"hasInfoLabelsFile,omitempty"`
	// SignedURL is a presigned PUT, a bearer URL for SignedURLTTL, that
	// every poll of the same request is shown. A stored record never holds
	// it in plain text: while connecting, this field holds the public key
	// the worker seals the URL to (SealSignedURLTo), and once connected,
	// the URL so sealed (Complete); OpenSignedURL turns that back into the
	// URL, and View always clears the field.
	SignedURL string `json:"signedUrl,omitempty"`
	// SignedURLUnavailable says why a connected result has no SignedURL
	// (azure.NoSignedURLForSAS).
	SignedURLUnavailable string `json:"signedUrlUnavailable,omitempty"`
	Endpoint             string `json:"endpoint,omitempty"`
	ConnectionError      string `json:"connectionError,omitempty"`
	// CORS is the cors check's outcome (verify.BucketResult.CORS), when
	// app origins are known: additive, and no secret (URLs without their
	// query, bucket names, commands).
	CORS *corscheck.Report `json:"cors,omitempty"`
}

// Lease is a worker's claim on a record in connecting. The zero Lease is
// free; a lease whose Until has passed is expired, and another worker may
// take it over.
type Lease struct {
	Owner string
	Until time.Time
}

// Record is the persisted state of one verification. Times are in UTC at
// microsecond precision, as the stores keep them.
type Record struct {
	// Key is RecordKey of the request: the same request finds the same
	// record. Stores select records by Key alone.
	Key   string
	OrgID int64

	State State
	// StatusSince is when State last changed (connectionStatusSince).
	StatusSince time.Time
	// Attempts is the number of the current (or last) worker run: 1 for
	// the first, plus one for each lease taken over after another expired.
	Attempts int
	// Deadline is when a record still in connecting reads as timed out.
	Deadline time.Time
	Lease    Lease

	Request Request
	// Sealed holds what the run needs and no one else may read, sealed
	// with RecordBinding (SealRun): the request's credentials, or for a
	// run on a stored config's credentials that goes beyond the config
	// (another bucket, region, endpoint or prefix), the Grant of a role
	// that may edit it. It is empty for a run on a stored config as it is.
	// Every final transition erases it.
	Sealed []byte

	// Events is the history, oldest first; it is never rewritten.
	Events []Event
	Result RecordResult

	// Version is 1 for a new record and is incremented by every stored
	// write; stores use it for optimistic concurrency.
	Version int64
	// ExpiresAt is when the record reads as missing and may be deleted.
	ExpiresAt time.Time
	CreatedAt time.Time
}

// RecordKey returns the key of the record for a request of orgID: the hex
// HMAC-SHA256, keyed with serverSecret, of an unambiguous (length-prefixed)
// encoding of the org, every field of req, and the credentials: secretKey
// when the request gives one, otherwise the marker of the stored config's
// credentials (req.BucketID is part of the encoding in any case).
//
// The HMAC makes the key useless to anyone without serverSecret: a digest
// of a secret key could otherwise be checked against guesses offline.
// serverSecret must be at least 32 random bytes, kept like any server key;
// changing it only makes running verifications unreachable (they are
// started again).
func RecordKey(serverSecret []byte, orgID int64, req Request, secretKey string) string {
	mac := hmac.New(sha256.New, serverSecret)
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		mac.Write(n[:])
		mac.Write([]byte(s))
	}
	field("bucketlink/verification/v1")
	field(strconv.FormatInt(orgID, 10))
	field(req.Provider)
	field(req.AccessKey)
	switch {
	case secretKey != "":
		field("credentials:request")
		field(secretKey)
	case req.BucketID != "":
		field("credentials:stored")
		field("")
	default:
		field("credentials:none")
		field("")
	}
	field(req.BucketID)
	field(req.Bucket)
	field(req.Endpoint)
	field(req.Region)
	field(req.Prefix)
	return hex.EncodeToString(mac.Sum(nil))
}

// RecordBinding is the seal binding of the credentials of the record with
// key: the org and the key, marked so that it can never equal a config's.
func RecordBinding(orgID int64, key string) seal.Binding {
	return seal.Binding{OrgID: orgID, ConfigUID: "verification/" + key}
}

// Grant is what the starter of a run on a stored config's credentials
// allowed it, sealed into the record so that a worker never takes stored
// credentials further than the caller's role may.
type Grant struct {
	// ReplaceStored lets the run replace the stored config's bucket,
	// region, endpoint and prefix (a role that may edit the config).
	ReplaceStored bool `json:"replace_stored,omitempty"`
}

// sealedRun is the document Record.Sealed holds: the credentials' own
// fields (as storageconfig.Credentials encodes them) and the grant.
type sealedRun struct {
	storageconfig.Credentials
	Grant Grant `json:"grant,omitzero"`
}

// SealRun seals creds (empty for a stored config's) and grant for the
// record with key, as Record.Sealed holds them.
func SealRun(ctx context.Context, s seal.Sealer, orgID int64, key string, creds storageconfig.Credentials, grant Grant) ([]byte, error) {
	plain, err := json.Marshal(sealedRun{Credentials: creds, Grant: grant})
	if err != nil {
		return nil, fmt.Errorf("encode verification credentials: %w", err)
	}
	defer clear(plain)
	sealed, err := s.Seal(ctx, plain, RecordBinding(orgID, key))
	if err != nil {
		return nil, fmt.Errorf("seal verification credentials: %w", err)
	}
	return sealed, nil
}

// SealCredentials seals creds for the record with key, as Record.Sealed
// holds them: SealRun without a grant.
func SealCredentials(ctx context.Context, s seal.Sealer, orgID int64, key string, creds storageconfig.Credentials) ([]byte, error) {
	return SealRun(ctx, s, orgID, key, creds, Grant{})
}

// OpenRun opens r.Sealed. A record with nothing sealed (it uses a stored
// config as it is, or it is final) is an error.
func (r *Record) OpenRun(ctx context.Context, s seal.Sealer) (storageconfig.Credentials, Grant, error) {
	var doc sealedRun
	if len(r.Sealed) == 0 {
		return doc.Credentials, doc.Grant, errors.New("open verification credentials: the record holds none")
	}
	switch err := seal.OpenJSON(ctx, s, r.Sealed, RecordBinding(r.OrgID, r.Key), &doc); {
	case errors.Is(err, seal.ErrNotJSON):
		return storageconfig.Credentials{}, Grant{}, errors.New("open verification credentials: not a credentials document")
	case err != nil:
		return storageconfig.Credentials{}, Grant{}, fmt.Errorf("open verification credentials: %w", err)
	}
	return doc.Credentials, doc.Grant, nil
}

// OpenCredentials opens r.Sealed and returns its credentials (OpenRun).
func (r *Record) OpenCredentials(ctx context.Context, s seal.Sealer) (storageconfig.Credentials, error) {
	creds, _, err := r.OpenRun(ctx, s)
	return creds, err
}

// stamp is how a record keeps a time: UTC, microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// NewRecord returns a new record in connecting for the request of orgID
// with the given key (RecordKey) and sealed credentials (SealCredentials;
// nil when the request uses a stored config's): attempt 1, a
// VerificationStarted event, Version 1, the deadline now+deadline (0 means
// DefaultRecordDeadline) and expiry now+RecordRetention.
func NewRecord(now time.Time, key string, orgID int64, req Request, sealed []byte, deadline time.Duration) *Record {
	now = stamp(now)
	if deadline <= 0 {
		deadline = DefaultRecordDeadline
	}
	return &Record{
		Key:         key,
		OrgID:       orgID,
		State:       StateConnecting,
		StatusSince: now,
		Attempts:    1,
		Deadline:    now.Add(deadline),
		Request:     req,
		Sealed:      sealed,
		Events:      []Event{{Type: EventVerificationStarted, At: now}},
		Version:     1,
		ExpiresAt:   now.Add(RecordRetention),
		CreatedAt:   now,
	}
}

// Validate reports whether r can be stored: a key, a valid state, a
// positive version and an expiry. Stores call it before every write.
func (r *Record) Validate() error {
	switch {
	case r.Key == "":
		return errors.New("verification record: no key")
	case !r.State.Valid():
		return fmt.Errorf("verification record %s: unknown state %q", r.Key, r.State)
	case r.Version < 1:
		return fmt.Errorf("verification record %s: version %d, want 1 or more", r.Key, r.Version)
	case r.ExpiresAt.IsZero():
		return fmt.Errorf("verification record %s: no expiry", r.Key)
	}
	return nil
}

// pastDeadline reports whether r is stored in connecting but reads as
// timed out at now.
func (r *Record) pastDeadline(now time.Time) bool {
	return r.State == StateConnecting && !now.Before(r.Deadline)
}

// check returns the error of a transition of r at now, or nil when r is in
// connecting before its deadline.
func (r *Record) check(now time.Time) error {
	switch {
	case r.State.Final():
		return fmt.Errorf("verification %s is %s: %w", r.Key, r.State, ErrFinal)
	case r.pastDeadline(now):
		return fmt.Errorf("verification %s: %w", r.Key, ErrPastDeadline)
	}
	return nil
}

// View returns the record as a client sees it at now, without changing r:
// a record in connecting past its deadline reads as error with
// TimeoutMessage since its deadline, with a VerificationTimedOut event, as
// if TimeOut had been written. The view never holds Sealed, nor the
// stored form of Result.SignedURL (see OpenSignedURL); it is for reading
// and must never be written back.
func (r *Record) View(now time.Time) Record {
	v := *r
	v.Sealed = nil
	v.Result.SignedURL = ""
	v.Events = slices.Clone(r.Events)
	v.Result.Files = slices.Clone(r.Result.Files)
	if r.pastDeadline(now) {
		v.timeOut(r.Deadline)
	}
	return v
}

// Restartable reports whether a new verification may replace r at now:
// r reads as final (View) and has been so for at least window (normally
// RestartWindow). A record in connecting before its deadline never is.
func (r *Record) Restartable(now time.Time, window time.Duration) bool {
	state, since := r.State, r.StatusSince
	if r.pastDeadline(now) {
		state, since = StateError, r.Deadline
	}
	return state.Final() && now.Sub(since) >= window
}

// AcquireLease gives owner the lease until now+ttl. It fails with
// ErrFinal or ErrPastDeadline unless r is in connecting before its
// deadline, and with ErrLeaseHeld while a lease (even owner's own) is
// live. Taking over an expired lease counts a new attempt. Pick ttl well
// below the deadline so that a run abandoned by a dead worker can be
// retried in time; the write of the leased record must be conditional on
// the version that was read, so that of two workers only one gets it.
func (r *Record) AcquireLease(owner string, now time.Time, ttl time.Duration) error {
	if err := r.check(now); err != nil {
		return fmt.Errorf("acquire lease: %w", err)
	}
	if owner == "" || ttl <= 0 {
		return fmt.Errorf("acquire lease on verification %s: need an owner and a positive duration", r.Key)
	}
	if r.Lease.Owner != "" && now.Before(r.Lease.Until) {
		return fmt.Errorf("acquire lease on verification %s: %w by %s until %s",
			r.Key, ErrLeaseHeld, r.Lease.Owner, r.Lease.Until.Format(time.RFC3339Nano))
	}
	if r.Lease.Owner != "" {
		r.Attempts++
	}
	r.Lease = Lease{Owner: owner, Until: stamp(now.Add(ttl))}
	return nil
}

// Complete moves r to connected at now with res (its ConnectionError is
// dropped): one event per check, then VerificationSucceeded. res.SignedURL
// is sealed to the key r was given by SealSignedURLTo, and dropped when r
// has none (or it is malformed): it is never kept in plain text. It erases
// the sealed credentials and frees the lease. It fails with ErrFinal or
// ErrPastDeadline unless r is in connecting before its deadline.
func (r *Record) Complete(now time.Time, res RecordResult, checks []Check) error {
	if err := r.check(now); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	now = stamp(now)
	res.ConnectionError = ""
	plain := res.SignedURL
	res.SignedURL = ""
	if plain != "" {
		if sealed, err := sealSignedURL(r.Result.SignedURL, r.Key, plain); err == nil {
			res.SignedURL = sealed
		}
	}
	r.Result = res
	r.finish(now, StateConnected, checks, Event{Type: EventVerificationSucceeded, At: now})
	return nil
}

// Fail moves r to error at now with connectionError (a message for the
// user, never a secret; empty becomes "verification failed"): one event
// per check, then VerificationFailed. It erases the sealed credentials and
// frees the lease. It fails with ErrFinal or ErrPastDeadline unless r is in
// connecting before its deadline.
func (r *Record) Fail(now time.Time, connectionError string, checks []Check) error {
	if err := r.check(now); err != nil {
		return fmt.Errorf("fail: %w", err)
	}
	now = stamp(now)
	if connectionError == "" {
		connectionError = "verification failed"
	}
	r.Result = RecordResult{ConnectionError: connectionError}
	r.finish(now, StateError, checks, Event{Type: EventVerificationFailed, At: now, Message: connectionError})
	return nil
}

// TimeOut moves r to error with TimeoutMessage and a VerificationTimedOut
// event: at its deadline if that has passed (so the stored record says what
// View said before), else at now (a worker may give up early). It erases
// the sealed credentials and frees the lease. It fails with ErrFinal on a
// record stored as connected or error.
func (r *Record) TimeOut(now time.Time) error {
	if r.State.Final() {
		return fmt.Errorf("time out verification %s: is %s: %w", r.Key, r.State, ErrFinal)
	}
	at := stamp(now)
	if r.Deadline.Before(at) {
		at = r.Deadline
	}
	r.timeOut(at)
	return nil
}

// timeOut is TimeOut at the given time, without checks.
func (r *Record) timeOut(at time.Time) {
	r.Result = RecordResult{ConnectionError: TimeoutMessage}
	r.finish(at, StateError, nil, Event{Type: EventVerificationTimedOut, At: at, Message: TimeoutMessage})
}

// finish moves r to the final state at now, appends the check events and
// last, and erases what a final record must not hold.
func (r *Record) finish(now time.Time, state State, checks []Check, last Event) {
	for _, c := range checks {
		typ := EventCheckFailed
		if c.OK {
			typ = EventCheckSucceeded
		}
		r.Events = append(r.Events, Event{Type: typ, At: now, Check: c.Name, Code: c.Code, Message: c.Message})
	}
	r.Events = append(r.Events, last)
	r.State, r.StatusSince = state, now
	r.Sealed = nil
	r.Lease = Lease{}
}

// The signed URL in a stored record.
//
// A record's signed URL is a bearer URL, so a stored record holds it only
// sealed, with HPKE (RFC 9180: DHKEM(X25519), HKDF-SHA256, AES-256-GCM) to
// a key pair of the record's own: the private key is derived from the
// server secret of the record keys (see RecordKey) and the record key, and
// is never stored; the public key is, in Result.SignedURL, from the start.
// So the worker, which holds neither that secret nor a sealer that can
// seal (on AWS its key policy grants it kms:Decrypt only), can seal the
// URL, and a poll, which holds the secret, opens it with no key service
// call: one X25519 operation and one AES-GCM open, tens of microseconds.
// Sealing it with the Sealer instead would cost a KMS Decrypt on every
// poll that reads the connected record, and kms:Decrypt for the functions
// that answer polls.
const (
	signedURLLabel     = "bucketlink/verification/signed-url/v1\x00"
	signedURLRecipient = "hpke-x25519-to:"
	signedURLSealed    = "hpke-x25519:"
)

var (
	signedURLKEM  = hpke.DHKEM(ecdh.X25519())
	signedURLKDF  = hpke.HKDFSHA256()
	signedURLAEAD = hpke.AES256GCM()
)

// signedURLKey derives the HPKE key pair of the signed URL of the record
// with key from serverSecret.
func signedURLKey(serverSecret []byte, key string) (hpke.PrivateKey, error) {
	if len(serverSecret) < 32 {
		return nil, errors.New("signed URL key: the server secret is shorter than 32 bytes")
	}
	m := hmac.New(sha256.New, serverSecret)
	m.Write([]byte(signedURLLabel + key))
	ikm := m.Sum(nil)
	defer clear(ikm)
	return signedURLKEM.DeriveKeyPair(ikm)
}

// SealSignedURLTo sets r, a new record, up so that Complete seals its
// signed URL to a key that only a holder of serverSecret (the secret of
// RecordKey) can derive: Result.SignedURL holds that key's public half.
// Call it before the record is first stored.
func (r *Record) SealSignedURLTo(serverSecret []byte) error {
	k, err := signedURLKey(serverSecret, r.Key)
	if err != nil {
		return fmt.Errorf("verification %s: %w", r.Key, err)
	}
	r.Result.SignedURL = signedURLRecipient + base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
	return nil
}

// sealSignedURL seals plain to the recipient form (SealSignedURLTo) of
// the record with key.
func sealSignedURL(recipient, key, plain string) (string, error) {
	raw, ok := strings.CutPrefix(recipient, signedURLRecipient)
	if !ok {
		return "", errors.New("seal signed URL: the record names no key to seal it to")
	}
	pubBytes, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("seal signed URL: %w", err)
	}
	pub, err := signedURLKEM.NewPublicKey(pubBytes)
	if err != nil {
		return "", fmt.Errorf("seal signed URL: %w", err)
	}
	ct, err := hpke.Seal(pub, signedURLKDF, signedURLAEAD, []byte(signedURLLabel+key), []byte(plain))
	if err != nil {
		return "", fmt.Errorf("seal signed URL: %w", err)
	}
	return signedURLSealed + base64.RawURLEncoding.EncodeToString(ct), nil
}

// OpenSignedURL returns the signed URL of r as Complete sealed it, opened
// with serverSecret (the secret of RecordKey): "" when r holds none (it is
// not connected, it has no URL, or it was started without
// SealSignedURLTo).
func (r *Record) OpenSignedURL(serverSecret []byte) (string, error) {
	raw, ok := strings.CutPrefix(r.Result.SignedURL, signedURLSealed)
	if r.State != StateConnected || !ok {
		return "", nil
	}
	ct, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("open the signed URL of verification %s: %w", r.Key, err)
	}
	k, err := signedURLKey(serverSecret, r.Key)
	if err != nil {
		return "", fmt.Errorf("open the signed URL of verification %s: %w", r.Key, err)
	}
	plain, err := hpke.Open(k, signedURLKDF, signedURLAEAD, []byte(signedURLLabel+r.Key), ct)
	if err != nil {
		return "", fmt.Errorf("open the signed URL of verification %s: %w", r.Key, err)
	}
	return string(plain), nil
}
