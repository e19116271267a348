package s3open_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/awsrole"
	"github.com/bucketlink/bucketlink/shared/awsrole/awsroletest"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/provider/s3/s3open"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

const roleARN = "arn:aws:iam::111122223333:role/bucketlink-access"

// orgs is an in-memory OrgFinder.
type orgs map[int64]*identity.Org

func (m orgs) GetOrgByID(_ context.Context, id int64) (*identity.Org, error) {
	if o, ok := m[id]; ok {
		return o, nil
	}
	return nil, errcode.ErrNotFound
}

// roleEnv is an Opener whose STS and AWS S3 are moto's, behind one
// recording proxy, and a bucket created in moto.
type roleEnv struct {
	opener     *s3open.Opener
	rec        *awsroletest.Recorder
	org        *identity.Org
	bucket     string
	serviceKey string
}

func newRoleEnv(t *testing.T) *roleEnv {
	t.Helper()
	m := testenv.SharedMoto(t)
	rec := awsroletest.NewRecorder(t, m.Endpoint)
	cfg := m.AWSConfig()
	svc, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	roles, err := awsrole.NewFromConfig(cfg, rec.URL, awsrole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bucket := testenv.BucketName(t, "role")
	awsroletest.CreateBucket(t, cfg, bucket, "data/seed.json")
	org := &identity.Org{ID: 7, Slug: "acme", ExternalID: uuid.NewString()}
	return &roleEnv{
		opener: &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: rec.URL, Roles: roles, Orgs: orgs{org.ID: org}},
		rec:    rec, org: org, bucket: bucket, serviceKey: svc.AccessKeyID,
	}
}

func (e *roleEnv) config() *storageconfig.Config {
	return &storageconfig.Config{UID: uuid.NewString(), OrgID: e.org.ID, Provider: s3.NameAWS, Settings: &s3.Settings{BucketName: e.bucket, Region: "us-east-1", Auth: s3.AuthIAMRole, RoleARN: roleARN}}
}

func TestOpenIAMRoleUsesTheRolesCredentials(t *testing.T) {
	e := newRoleEnv(t)
	// Credentials given with an iam_role config are ignored.
	ignored := storageconfig.Credentials{"access_key_id": "AKIAIGNOREDEXAMPLE00", "secret_access_key": "ignored"}
	b, err := e.opener.Open(t.Context(), e.config(), ignored)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := t.Context()
	objs, err := b.List(ctx, "data/", 10)
	if err != nil || len(objs) != 1 || objs[0].Key != "data/seed.json" {
		t.Fatalf("List = %v, %v; want the seeded object", objs, err)
	}
	if err := b.Put(ctx, "data/probe", []byte("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := b.ReadRange(ctx, "data/probe", 1); err != nil {
		t.Fatalf("ReadRange: %v", err)
	}
	if err := b.Delete(ctx, "data/probe"); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	calls := e.rec.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	c := calls[0]
	if c.RoleARN != roleARN || c.ExternalID != e.org.ExternalID || c.SessionName != "bucketlink-acme" || c.SignedBy != e.serviceKey || c.IssuedKeyID == "" {
		t.Errorf("AssumeRole call = %+v; want role %s, external id %s, session bucketlink-acme, signed by %s",
			c, roleARN, e.org.ExternalID, e.serviceKey)
	}
	reqs := e.rec.S3Requests()
	if len(reqs) != 4 {
		t.Errorf("%d S3 requests, want 4", len(reqs))
	}
	for _, r := range reqs {
		if r.AccessKeyID != c.IssuedKeyID || !r.SessionToken {
			t.Errorf("S3 %s %s signed by %q (session token %v); want the role's %q", r.Method, r.Path, r.AccessKeyID, r.SessionToken, c.IssuedKeyID)
		}
		if r.AccessKeyID == e.serviceKey || r.AccessKeyID == ignored["access_key_id"] {
			t.Errorf("S3 %s %s signed with the service's or the ignored key", r.Method, r.Path)
		}
	}

	// A second open of the same role reuses the credentials.
	if _, err := e.opener.Open(t.Context(), e.config(), storageconfig.Credentials{}); err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if n := len(e.rec.AssumeRoleCalls()); n != 1 {
		t.Errorf("%d AssumeRole calls after a second open, want 1", n)
	}
}

func TestOpenIAMRoleFailures(t *testing.T) {
	e := newRoleEnv(t)
	tests := []struct {
		name   string
		opener *s3open.Opener
		edit   func(c *storageconfig.Config)
		fail   *awsroletest.STSError
		check  func(t *testing.T, err error)
	}{
		{name: "role refused", fail: awsroletest.AccessDenied("arn:aws:iam::123456789012:user/bucketlink", roleARN),
			check: func(t *testing.T, err error) {
				var re *awsrole.Error
				if !errors.As(err, &re) || !re.RoleNotAssumable() {
					t.Errorf("err = %v, want a not-assumable *awsrole.Error", err)
				}
			}},
		{name: "s3_compatible never assumes", edit: func(c *storageconfig.Config) {
			c.Provider, c.Settings.(*s3.Settings).Endpoint = s3.NameCompatible, e.rec.URL
			c.Settings.(*s3.Settings).Compatible = true
		}},
		{name: "unknown org", edit: func(c *storageconfig.Config) { c.OrgID = 99 },
			check: func(t *testing.T, err error) {
				if !errors.Is(err, errcode.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			}},
		{name: "not set up for roles", opener: &s3open.Opener{HTTPClient: &http.Client{}, AWSEndpoint: e.rec.URL},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, s3open.ErrNoRoles) {
					t.Errorf("err = %v, want ErrNoRoles", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.rec.AssumeRoleCalls())
			e.rec.FailAssumeRole(tt.fail)
			defer e.rec.FailAssumeRole(nil)
			o, c := e.opener, e.config()
			if tt.opener != nil {
				o = tt.opener
			}
			if tt.edit != nil {
				tt.edit(c)
			}
			_, err := o.Open(t.Context(), c, storageconfig.Credentials{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			wantCalls := 0
			if tt.fail != nil {
				wantCalls = 1
			}
			if n := len(e.rec.AssumeRoleCalls()) - before; n != wantCalls {
				t.Errorf("%d AssumeRole calls, want %d", n, wantCalls)
			}
		})
	}
	if n := len(e.rec.S3Requests()); n != 0 {
		t.Errorf("%d S3 requests after failed opens", n)
	}
}
