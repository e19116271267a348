// Package storageconfig is the domain of bucketlink: a storage config (the
// connection to one customer bucket), its validation and normalisation, and
// the wire shapes of the storage-configs API. It knows nothing about HTTP,
// and nothing about any one provider: each provider's fields, rules and
// credentials are its package's (package provider lists them), and a
// config holds them as its Settings.
package storageconfig

import (
	"time"

	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// Provider names a storage backend, as the API spells it ("aws_s3"); the
// registry (package provider) lists them.
type Provider string

// Settings are the provider's settings of a config (contract.Settings):
// bucket, prefix, region, endpoint, auth method, as the provider's package
// defines them. Stores keep them as one document.
type Settings = contract.Settings

// Credentials are the secrets of a config (contract.Credentials), keyed by
// the names the provider gives their parts. They exist in plain text only
// in memory, between a request (or Open) and the provider client.
type Credentials = contract.Credentials

// Config is one stored connection to a customer's bucket. Credentials are
// never held here in plain text: Sealed is the envelope produced by a
// seal.Sealer, bound to (OrgID, UID).
type Config struct {
	UID string // UUID v4, lower case
	// ID is the config's integer id: what the bucket-verify API calls
	// bucketId. Stores assign it on create from one global sequence, so an
	// id names one config across all orgs and is never reused.
	ID    int64
	OrgID int64
	Name  string

	Provider Provider
	// Settings are the provider's settings; every stored config has them.
	Settings Settings
	// AccessMode is read_write (also when "") or read_only; stores keep it
	// in the settings document (EncodeSettings).
	AccessMode AccessMode
	// CORSOrigins are the config's own app origins (cors_origins,
	// additive), serialised as browsers send them: nil when the config
	// names none and the operator's are used, non-nil and empty for no
	// CORS check at all. See AppOrigins.
	CORSOrigins []string

	IsVerified     bool
	LastVerifiedAt time.Time // zero: never
	CreatedAt      time.Time // UTC, microsecond precision
	UpdatedAt      time.Time

	// ReverifyInterval is how often the config is re-tested on a schedule
	// (reverify_interval_seconds); 0 means never: re-verification is off.
	// NextReverifyAt is when the next scheduled re-test is due, zero
	// exactly when re-verification is off. ReverifyFailures counts the
	// verifications that failed in a row; it sets the backoff. See
	// reverify.go.
	ReverifyInterval time.Duration
	NextReverifyAt   time.Time
	ReverifyFailures int

	// Version is incremented by every successful update; stores use it for
	// optimistic concurrency.
	Version int64

	// Sealed holds the sealed Credentials. Stores keep it with the row and
	// destroy it with the row.
	Sealed []byte
}

// Bucket returns the name of the config's bucket (the container, for
// azure_blob); "" without settings.
func (c *Config) Bucket() string {
	if c.Settings == nil {
		return ""
	}
	return c.Settings.Bucket()
}

// Prefix returns the config's normalised key prefix, whatever the
// provider; "" without settings.
func (c *Config) Prefix() string {
	if c.Settings == nil {
		return ""
	}
	return c.Settings.Prefix()
}

// Report says which request field each failure of the checks names, for
// the config with creds (contract.Report).
func (c *Config) Report(creds Credentials) contract.Report {
	if c.Settings == nil {
		return contract.Report{}
	}
	if m, ok := c.Settings.(contract.ModeReporter); ok {
		return m.ReportMode(creds, c.ReadOnly())
	}
	return c.Settings.Report(creds)
}

// Now returns the current time as configs store it: UTC, microseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
