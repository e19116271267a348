package testenv

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func TestMain(m *testing.M) { Main(m) }

func TestFindTool(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ToolsEnv, dir)
	tests := []struct {
		name    string
		tool    string
		wantErr bool
	}{
		{name: "installed", tool: "tool"},
		{name: "missing", tool: "nope", wantErr: true},
		{name: "not executable", tool: "plain", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := findTool(tt.tool)
			if (err != nil) != tt.wantErr {
				t.Fatalf("findTool(%q) = %q, %v; want error %v", tt.tool, p, err, tt.wantErr)
			}
			if err == nil && p != exe {
				t.Errorf("findTool = %q, want %q", p, exe)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "infra", "testenv", "install-tools.sh")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no infra/testenv/install-tools.sh: %v", root, err)
	}
}

func TestHangingServer(t *testing.T) {
	u := HangingServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read from hanging server: %v, want a timeout", err)
	}
}

func TestRefusedEndpoint(t *testing.T) {
	u := RefusedEndpoint(t)
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
		t.Fatalf("dial %s succeeded, want refused", u)
	}
}

func TestNewCredentials(t *testing.T) {
	id1, s1 := NewCredentials(t)
	id2, s2 := NewCredentials(t)
	if id1 == id2 || s1 == s2 || len(id1) != 20 || len(s1) != 40 {
		t.Errorf("NewCredentials gave %d/%d-char values, equal twice: %v", len(id1), len(s1), id1 == id2 || s1 == s2)
	}
}

func TestStartMinIO(t *testing.T) {
	start := time.Now()
	m := StartMinIO(t)
	t.Logf("minio ready in %s", time.Since(start))
	resp, err := http.Get(m.Endpoint + "/minio/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("live: %s", resp.Status)
	}
}

// TestMinIOUsers proves that users and policies made by the helpers are
// really enforced by the server.
func TestMinIOUsers(t *testing.T) {
	m := SharedMinIO(t)
	bucket := BucketName(t, "users")
	m.CreateBucket(t, bucket)
	m.PutObject(t, bucket, "a/seed.txt", []byte("seed"))
	id, secret := NewCredentials(t)
	m.AddUser(t, id, secret, PolicyFor(bucket, "s3:GetObject"))
	c := s3.New(s3.Options{
		Region: m.Region, BaseEndpoint: aws.String(m.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:  &http.Client{},
	})
	ctx := t.Context()
	put := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/new"), Body: bytes.NewReader([]byte("x"))})
		return err
	}
	list := func() error {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		return err
	}
	wantCode := func(step string, err error, code string) {
		t.Helper()
		var ae smithy.APIError
		switch {
		case code == "" && err != nil:
			t.Fatalf("%s: %v, want success", step, err)
		case code != "" && (!errors.As(err, &ae) || ae.ErrorCode() != code):
			t.Fatalf("%s: %v, want %s", step, err, code)
		}
	}
	wantCode("list", list(), "")
	wantCode("put with read-only policy", put(), "AccessDenied")
	m.SetUserPolicy(t, id, ReadWritePolicy(bucket))
	wantCode("put with read-write policy", put(), "")
	if got, ok := m.GetObject(t, bucket, "a/new"); !ok || string(got) != "x" {
		t.Fatalf("GetObject = %q, %v", got, ok)
	}
	if keys := m.ListKeys(t, bucket, "a/"); len(keys) != 2 {
		t.Fatalf("ListKeys = %v, want 2 keys", keys)
	}
	m.DetachUserPolicy(t, id)
	m.DetachUserPolicy(t, id) // a second detach is not an error
	wantCode("list after detach", list(), "AccessDenied")
}

func TestMinIOReadyQuickly(t *testing.T) {
	m := SharedMinIO(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/minio/health/ready", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
