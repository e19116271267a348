package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/madmin-go/v3"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// adminTimeout bounds each helper call.
const adminTimeout = 10 * time.Second

func madminCreds(user, password string) *miniocreds.Credentials {
	return miniocreds.NewStaticV4(user, password, "")
}

func helperCtx(tb testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.Context(), adminTimeout)
}

// CreateBucket creates a bucket as root.
func (m *MinIO) CreateBucket(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if _, err := m.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("testenv: create bucket %s: %v", name, err)
	}
}

// PutObject writes an object as root.
func (m *MinIO) PutObject(tb testing.TB, bucket, key string, data []byte) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	_, err := m.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		tb.Fatalf("testenv: put %s/%s: %v", bucket, key, err)
	}
}

// GetObject reads an object as root; ok is false when it does not exist.
func (m *MinIO) GetObject(tb testing.TB, bucket, key string) (data []byte, ok bool) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	out, err := m.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, false
	}
	if err != nil {
		tb.Fatalf("testenv: get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	data, err = io.ReadAll(out.Body)
	if err != nil {
		tb.Fatalf("testenv: get %s/%s: %v", bucket, key, err)
	}
	return data, true
}

// ListKeys lists every key under prefix as root.
func (m *MinIO) ListKeys(tb testing.TB, bucket, prefix string) []string {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(m.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			tb.Fatalf("testenv: list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// AddUser creates a user with the given secret, creates a canned policy
// named after the user from policyJSON and attaches it to the user.
func (m *MinIO) AddUser(tb testing.TB, accessKey, secretKey, policyJSON string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if err := m.admin.AddUser(ctx, accessKey, secretKey); err != nil {
		tb.Fatalf("testenv: add user %s: %v", accessKey, err)
	}
	m.SetUserPolicy(tb, accessKey, policyJSON)
}

// SetUserPolicy replaces the user's canned policy (named after the user)
// with policyJSON and makes sure it is attached.
func (m *MinIO) SetUserPolicy(tb testing.TB, user, policyJSON string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if err := m.admin.AddCannedPolicy(ctx, user, []byte(policyJSON)); err != nil {
		tb.Fatalf("testenv: add policy %s: %v", user, err)
	}
	_, err := m.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{user}, User: user})
	if err != nil && !isNoPolicyChange(err) {
		tb.Fatalf("testenv: attach policy %s: %v", user, err)
	}
}

// DetachUserPolicy detaches the user's canned policy, leaving the user with
// no permissions.
func (m *MinIO) DetachUserPolicy(tb testing.TB, user string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	_, err := m.admin.DetachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{user}, User: user})
	if err != nil && !isNoPolicyChange(err) {
		tb.Fatalf("testenv: detach policy %s: %v", user, err)
	}
}

// isNoPolicyChange reports MinIO's answer to attaching an attached policy
// (or detaching a detached one).
func isNoPolicyChange(err error) bool {
	var er madmin.ErrorResponse
	return errors.As(err, &er) && er.Code == "XMinioAdminPolicyChangeAlreadyApplied"
}

// PolicyStatement is one Allow statement of an IAM-style policy.
type PolicyStatement struct {
	Actions   []string
	Resources []string
}

// Policy returns a policy document allowing every statement.
func Policy(stmts ...PolicyStatement) string {
	type statement struct {
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource []string `json:"Resource"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{Version: "2012-10-17"}
	for _, s := range stmts {
		doc.Statement = append(doc.Statement, statement{Effect: "Allow", Action: s.Actions, Resource: s.Resources})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("testenv: policy: " + err.Error()) // only strings: cannot happen
	}
	return string(b)
}

// PolicyFor returns a policy allowing s3:ListBucket on bucket and the given
// object actions (e.g. "s3:GetObject") on every object in it.
func PolicyFor(bucket string, objectActions ...string) string {
	stmts := []PolicyStatement{{Actions: []string{"s3:ListBucket"}, Resources: []string{"arn:aws:s3:::" + bucket}}}
	if len(objectActions) > 0 {
		stmts = append(stmts, PolicyStatement{Actions: objectActions, Resources: []string{"arn:aws:s3:::" + bucket + "/*"}})
	}
	return Policy(stmts...)
}

// FullAccessPolicy allows every S3 action on every bucket.
var FullAccessPolicy = Policy(PolicyStatement{Actions: []string{"s3:*"}, Resources: []string{"arn:aws:s3:::*"}})

// ReadWritePolicy allows listing bucket and reading, writing and deleting
// its objects.
func ReadWritePolicy(bucket string) string {
	return PolicyFor(bucket, "s3:GetObject", "s3:PutObject", "s3:DeleteObject")
}
