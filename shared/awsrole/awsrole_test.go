package awsrole_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"

// env is an Assumer whose STS is moto's, through a recording proxy.
type env struct {
	a       *awsrole.Assumer
	rec     *awsroletest.Recorder
	service aws.Credentials // the service's own credentials
}

func newEnv(t *testing.T, opts awsrole.Options) *env {
	t.Helper()
	m := testenv.SharedMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	cfg := m.AWSConfig()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	a, err := awsrole.NewFromConfig(cfg, rec.URL, opts)
	if err != nil {
		t.Fatalf("NewFromConfig: %v", err)
	}
	svc, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &env{a: a, rec: rec, service: svc}
}

func role(externalID string) awsrole.Role {
	return awsrole.Role{ARN: roleARN, ExternalID: externalID, SessionName: awsrole.SessionName("acme", 7)}
}

func (e *env) credentials(t *testing.T, r awsrole.Role) aws.Credentials {
	t.Helper()
	p, err := e.a.Provider(t.Context(), r)
	if err != nil {
		t.Fatalf("Provider: %v", err)
	}
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	return c
}

func TestAssumeRoleCall(t *testing.T) {
	e := newEnv(t, awsrole.Options{})
	const extID = "6f1c3f0e-4b8e-4f43-9d61-2b7f0c0c1a11"
	start := time.Now()
	creds := e.credentials(t, role(extID))
	calls := e.rec.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	want := awsroletest.AssumeRoleCall{RoleARN: roleARN, ExternalID: extID, SessionName: "bucketlink-acme",
		DurationSeconds: 3600, SignedBy: e.service.AccessKeyID, IssuedKeyID: creds.AccessKeyID}
	if calls[0] != want {
		t.Errorf("call = %+v\nwant   %+v", calls[0], want)
	}
	if creds.AccessKeyID == "" || creds.AccessKeyID == e.service.AccessKeyID || creds.SessionToken == "" {
		t.Errorf("credentials are not the role's temporary ones: key %q (service %q), token set %v",
			creds.AccessKeyID, e.service.AccessKeyID, creds.SessionToken != "")
	}
	// Cached until DefaultExpiryMargin before the hour is up.
	lo, hi := start.Add(awsrole.DefaultDuration-awsrole.DefaultExpiryMargin-time.Minute), time.Now().Add(awsrole.DefaultDuration-awsrole.DefaultExpiryMargin+time.Second)
	if !creds.CanExpire || creds.Expires.Before(lo) || creds.Expires.After(hi) {
		t.Errorf("expires %v, want between %v and %v", creds.Expires, lo, hi)
	}
	if n := len(e.rec.S3Requests()) + e.rec.Other(); n != 0 {
		t.Errorf("%d requests besides AssumeRole", n)
	}
}

func TestCache(t *testing.T) {
	e := newEnv(t, awsrole.Options{})
	first := e.credentials(t, role("ext-id-one"))
	if again := e.credentials(t, role("ext-id-one")); again.AccessKeyID != first.AccessKeyID {
		t.Errorf("second use got new credentials")
	}
	if n := len(e.rec.AssumeRoleCalls()); n != 1 {
		t.Fatalf("two uses of one role made %d AssumeRole calls, want 1", n)
	}
	// Concurrent first uses of another role share one call.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { e.credentials(t, role("ext-id-two")) })
	}
	wg.Wait()
	if n := len(e.rec.AssumeRoleCalls()); n != 2 {
		t.Fatalf("8 concurrent uses of a second role: %d calls in all, want 2", n)
	}
	// The same role with another external id is another entry.
	if other := e.credentials(t, role("ext-id-three")); other.AccessKeyID == first.AccessKeyID {
		t.Errorf("another external id got the cached credentials")
	}
	if n := len(e.rec.AssumeRoleCalls()); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestCacheRenewsBeforeExpiry(t *testing.T) {
	// Credentials of 15 minutes, replaced 2 s after they were issued.
	e := newEnv(t, awsrole.Options{Duration: 15 * time.Minute, ExpiryMargin: 15*time.Minute - 2*time.Second})
	first := e.credentials(t, role("ext-id"))
	e.credentials(t, role("ext-id"))
	if n := len(e.rec.AssumeRoleCalls()); n != 1 {
		t.Fatalf("%d calls before the margin, want 1", n)
	}
	time.Sleep(time.Until(first.Expires) + 100*time.Millisecond)
	if renewed := e.credentials(t, role("ext-id")); renewed.AccessKeyID == first.AccessKeyID {
		t.Errorf("credentials within the margin were not renewed")
	}
	calls := e.rec.AssumeRoleCalls()
	if len(calls) != 2 || calls[1].DurationSeconds != 900 {
		t.Errorf("calls = %+v, want 2 of 900 s", calls)
	}
}

func TestCacheIsBounded(t *testing.T) {
	e := newEnv(t, awsrole.Options{MaxEntries: 2})
	for _, id := range []string{"ext-a", "ext-b", "ext-c", "ext-b"} {
		e.credentials(t, role(id))
	}
	if n := awsrole.CacheLen(e.a); n != 2 {
		t.Errorf("cache holds %d roles, want 2", n)
	}
	if n := len(e.rec.AssumeRoleCalls()); n != 3 {
		t.Errorf("%d calls, want 3 (b cached)", n)
	}
	e.credentials(t, role("ext-a")) // the least recently used: forgotten
	e.credentials(t, role("ext-b")) // still there
	if n := len(e.rec.AssumeRoleCalls()); n != 4 {
		t.Errorf("%d calls, want 4 (a assumed again, b cached)", n)
	}
}

func TestAssumeRoleFailures(t *testing.T) {
	tests := []struct {
		name        string
		fail        *awsroletest.STSError
		code        string
		unavailable bool
	}{
		{"trust policy refuses", awsroletest.AccessDenied("arn:aws:sts::123456789012:assumed-role/bucketlink/fn", roleARN), "AccessDenied", false},
		{"malformed", &awsroletest.STSError{Status: 400, Code: "ValidationError", Message: "1 validation error detected"}, "ValidationError", false},
		{"throttled", &awsroletest.STSError{Status: 400, Code: "Throttling", Message: "Rate exceeded"}, "Throttling", true},
		{"service credentials refused", &awsroletest.STSError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}, "InvalidClientTokenId", true},
		{"sts failing", &awsroletest.STSError{Status: 500, Code: "InternalFailure", Message: "internal"}, "InternalFailure", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, awsrole.Options{})
			e.rec.FailAssumeRole(tt.fail)
			_, err := e.a.Provider(t.Context(), role("ext-id"))
			var re *awsrole.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *awsrole.Error", err)
			}
			if re.Code != tt.code || re.Unavailable != tt.unavailable || re.RoleNotAssumable() == tt.unavailable || re.RoleARN != roleARN {
				t.Errorf("error = %+v, want code %s, unavailable %v", re, tt.code, tt.unavailable)
			}
			if strings.Contains(err.Error(), e.service.SecretAccessKey) {
				t.Errorf("error holds the service's secret")
			}
			// A failure is not cached: once STS agrees, the role is assumed.
			e.rec.FailAssumeRole(nil)
			e.credentials(t, role("ext-id"))
			if n := len(e.rec.AssumeRoleCalls()); n != 2 {
				t.Errorf("%d calls, want 2", n)
			}
		})
	}
}

func TestSTSUnreachable(t *testing.T) {
	endpoint := testenv.RefusedEndpoint(t)
	cfg := aws.Config{Region: "us-east-1", HTTPClient: &http.Client{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIASERVICEEXAMPLE00", SecretAccessKey: "service-secret"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	a, err := awsrole.NewFromConfig(cfg, endpoint, awsrole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Provider(t.Context(), role("ext-id"))
	var re *awsrole.Error
	if !errors.As(err, &re) || !re.Unavailable || re.Code != "" {
		t.Errorf("err = %v, want an unavailable *awsrole.Error", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Provider(ctx, role("ext-id")); !errors.As(err, &re) || !re.Unavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want an unavailable *awsrole.Error wrapping context.Canceled", err)
	}
}

func TestProviderRejectsBadRoles(t *testing.T) {
	tests := []struct {
		name string
		role awsrole.Role
	}{
		{"no external id", awsrole.Role{ARN: roleARN, SessionName: "bucketlink-acme"}},
		{"not a role arn", awsrole.Role{ARN: "arn:aws:iam::111122223333:user/alice", ExternalID: "ext-id", SessionName: "bucketlink-acme"}},
		{"bad session name", awsrole.Role{ARN: roleARN, ExternalID: "ext-id", SessionName: "has space"}},
	}
	e := newEnv(t, awsrole.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.a.Provider(t.Context(), tt.role); !errors.Is(err, awsrole.ErrBadRole) {
				t.Errorf("err = %v, want ErrBadRole", err)
			}
		})
	}
	if n := len(e.rec.AssumeRoleCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls for bad roles", n)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts awsrole.Options
		ok   bool
	}{
		{"defaults", awsrole.Options{}, true},
		{"fifteen minutes", awsrole.Options{Duration: 15 * time.Minute}, true},
		{"too short", awsrole.Options{Duration: 14 * time.Minute}, false},
		{"too long", awsrole.Options{Duration: 2 * time.Hour}, false},
		{"fractional seconds", awsrole.Options{Duration: 20*time.Minute + time.Millisecond}, false},
		{"margin as long as the duration", awsrole.Options{Duration: 15 * time.Minute, ExpiryMargin: 15 * time.Minute}, false},
		{"negative entries", awsrole.Options{MaxEntries: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsrole.NewFromConfig(aws.Config{}, "", tt.opts)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, awsrole.ErrBadOptions)) {
				t.Errorf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if _, err := awsrole.NewFromConfig(aws.Config{}, "sts.example.com", awsrole.Options{}); !errors.Is(err, awsrole.ErrBadOptions) {
		t.Errorf("endpoint without scheme: err = %v", err)
	}
}

func TestSessionName(t *testing.T) {
	tests := []struct {
		name, slug string
		id         int64
		want       string
	}{
		{"slug", "acme", 1, "bucketlink-acme"},
		{"no slug", "", 42, "bucketlink-org-42"},
		{"characters STS refuses", "a b/cé", 1, "bucketlink-a-b-c-"},
		{"cut to 64", strings.Repeat("x", 80), 1, "bucketlink-" + strings.Repeat("x", 53)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := awsrole.SessionName(tt.slug, tt.id); got != tt.want {
				t.Errorf("SessionName(%q, %d) = %q, want %q", tt.slug, tt.id, got, tt.want)
			}
		})
	}
}
