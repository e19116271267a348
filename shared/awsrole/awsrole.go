// Package awsrole obtains temporary credentials for customers' IAM roles
// (storage configs with s3_auth_method "iam_role") through AWS STS
// AssumeRole, and caches them until shortly before they expire.
//
// This is the one place where bucketlink uses its own AWS credentials, and
// they only ever reach STS: the Assumer's STS client is built from the
// operator's AWS configuration, and its endpoint can only be changed by the
// operator. What it hands out are the role's temporary credentials, which
// callers give to the S3 client of the customer's bucket.
package awsrole

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

// Limits and defaults of an Assumer.
const (
	// MinDuration and MaxDuration bound the lifetime asked of STS. Every
	// role accepts an hour: IAM's MaxSessionDuration is at least one hour.
	MinDuration     = 15 * time.Minute
	MaxDuration     = time.Hour
	DefaultDuration = time.Hour
	// DefaultExpiryMargin is how long before they expire cached
	// credentials are replaced, so that no check runs on credentials about
	// to expire.
	DefaultExpiryMargin = 5 * time.Minute
	// DefaultMaxEntries bounds the cache: beyond it, the least recently
	// used role is forgotten.
	DefaultMaxEntries = 1024
	// DefaultCallTimeout bounds one AssumeRole call, retries included. The
	// call goes on when the caller's context ends (so that its answer is
	// cached for the next one), but never past this.
	DefaultCallTimeout = 10 * time.Second
	// DefaultSTSRegion signs STS calls when the operator's configuration
	// names no region.
	DefaultSTSRegion = "us-east-1"
)

// Errors of New, NewFromConfig and Provider that come before any call to
// STS.
var (
	ErrBadOptions = errors.New("awsrole: invalid options")
	ErrBadRole    = errors.New("awsrole: invalid role")
)

// Role names a customer's role and how to assume it.
type Role struct {
	// ARN is the role's ARN, arn:aws:iam::<account>:role/<name>.
	ARN string
	// ExternalID is the organization's external id, which the role's trust
	// policy requires as sts:ExternalId. It is required: a role is never
	// assumed without one.
	ExternalID string
	// SessionName names the organization in the role's session (and so in
	// the customer's CloudTrail); see SessionName.
	SessionName string
}

// Options configure an Assumer. Zero values mean the defaults.
type Options struct {
	// Duration is the DurationSeconds asked of STS, from MinDuration to
	// MaxDuration.
	Duration time.Duration
	// ExpiryMargin is how long before expiry cached credentials are
	// replaced; it must be shorter than Duration.
	ExpiryMargin time.Duration
	// MaxEntries bounds how many roles' credentials are cached.
	MaxEntries int
	// CallTimeout bounds one AssumeRole call.
	CallTimeout time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.ExpiryMargin == 0 {
		o.ExpiryMargin = DefaultExpiryMargin
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	switch {
	case o.Duration < MinDuration || o.Duration > MaxDuration || o.Duration%time.Second != 0:
		return o, fmt.Errorf("%w: duration %s is not a whole number of seconds from %s to %s", ErrBadOptions, o.Duration, MinDuration, MaxDuration)
	case o.ExpiryMargin < 0 || o.ExpiryMargin >= o.Duration:
		return o, fmt.Errorf("%w: expiry margin %s must be shorter than the duration %s", ErrBadOptions, o.ExpiryMargin, o.Duration)
	case o.MaxEntries < 0:
		return o, fmt.Errorf("%w: max entries %d is negative", ErrBadOptions, o.MaxEntries)
	case o.CallTimeout < 0:
		return o, fmt.Errorf("%w: call timeout %s is negative", ErrBadOptions, o.CallTimeout)
	}
	return o, nil
}

// Assumer assumes roles and caches their credentials per (role ARN,
// external id). It is safe for concurrent use; concurrent requests for the
// same role share one AssumeRole call.
type Assumer struct {
	client stscreds.AssumeRoleAPIClient
	opts   Options

	mu    sync.Mutex
	tick  uint64
	cache map[cacheKey]*entry
}

type cacheKey struct{ arn, externalID string }

type entry struct {
	creds *aws.CredentialsCache
	used  uint64 // Assumer.tick at the last use
}

// New returns an Assumer that calls STS through client (in production, an
// *sts.Client built from the operator's configuration; see NewFromConfig).
func New(client stscreds.AssumeRoleAPIClient, opts Options) (*Assumer, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: an STS client is required", ErrBadOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Assumer{client: client, opts: opts, cache: map[cacheKey]*entry{}}, nil
}

// NewFromConfig returns an Assumer whose STS client uses cfg, the
// service's own AWS configuration (config.LoadDefaultConfig in main). A
// non-empty endpoint, set by the operator only, replaces STS's endpoint
// (e.g. a local emulator). Without a region in cfg, DefaultSTSRegion is
// used.
func NewFromConfig(cfg aws.Config, endpoint string, opts Options) (*Assumer, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%w: the STS endpoint must be an absolute http or https URL", ErrBadOptions)
		}
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if o.Region == "" {
			o.Region = DefaultSTSRegion
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, opts)
}

// Provider returns a credentials provider for role r, having made sure it
// holds credentials: the cached ones while they are valid for more than the
// expiry margin, or new ones from AssumeRole. The provider renews them by
// itself when they near their expiry.
//
// A failed AssumeRole returns an *Error; a role that is not well formed
// returns an error wrapping ErrBadRole, without calling STS.
func (a *Assumer) Provider(ctx context.Context, r Role) (aws.CredentialsProvider, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	creds := a.entry(r)
	if _, err := creds.Retrieve(ctx); err != nil {
		return nil, newError(r.ARN, err)
	}
	return creds, nil
}

// entry returns the cached credentials of r, adding them (and forgetting
// the least recently used role if the cache is full).
func (a *Assumer) entry(r Role) *aws.CredentialsCache {
	k := cacheKey{r.ARN, r.ExternalID}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tick++
	if e, ok := a.cache[k]; ok {
		e.used = a.tick
		return e.creds
	}
	if a.opts.MaxEntries > 0 && len(a.cache) >= a.opts.MaxEntries {
		var oldest cacheKey
		var oldestUse uint64
		for key, e := range a.cache {
			if oldestUse == 0 || e.used < oldestUse {
				oldest, oldestUse = key, e.used
			}
		}
		delete(a.cache, oldest)
	}
	e := &entry{creds: a.newCredentials(r), used: a.tick}
	a.cache[k] = e
	return e.creds
}

// newCredentials builds the cached, time-bounded AssumeRole provider of r.
func (a *Assumer) newCredentials(r Role) *aws.CredentialsCache {
	assume := stscreds.NewAssumeRoleProvider(a.client, r.ARN, func(o *stscreds.AssumeRoleOptions) {
		o.ExternalID = aws.String(r.ExternalID)
		o.RoleSessionName = r.SessionName
		o.Duration = a.opts.Duration
	})
	timeout := a.opts.CallTimeout
	bounded := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		// ctx carries no deadline here (the cache detaches it so a shared
		// call outlives one impatient caller); bound the call ourselves.
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return assume.Retrieve(ctx)
	})
	return aws.NewCredentialsCache(bounded, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = a.opts.ExpiryMargin
	})
}

var (
	// externalIDRE is what STS accepts as ExternalId (2 to 1224 of
	// these characters).
	externalIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@:/-]+$`) })
	// sessionNameRE is what STS accepts as RoleSessionName.
	sessionNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
)

func (r Role) validate() error {
	switch {
	case !s3.ValidRoleARN(r.ARN):
		return fmt.Errorf("%w: %q is not an IAM role ARN", ErrBadRole, r.ARN)
	case len(r.ExternalID) < 2 || len(r.ExternalID) > 1224 || !externalIDRE().MatchString(r.ExternalID):
		return fmt.Errorf("%w: the external id is missing or malformed", ErrBadRole)
	case !sessionNameRE().MatchString(r.SessionName):
		return fmt.Errorf("%w: session name %q is not 2 to 64 of [A-Za-z0-9_+=,.@-]", ErrBadRole, r.SessionName)
	}
	return nil
}

// SessionName returns the role session name of an organization:
// "bucketlink-<slug>", with characters STS does not accept replaced by
// "-" and cut to STS's 64 characters, or "bucketlink-org-<id>" without a
// slug.
func SessionName(slug string, orgID int64) string {
	if slug == "" {
		return "bucketlink-org-" + strconv.FormatInt(orgID, 10)
	}
	name := "bucketlink-" + strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)) {
			return r
		}
		return '-'
	}, slug)
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
