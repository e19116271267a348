package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/madmin-go/v3"
)

// MinIORegion is the region every MinIO started here serves.
const MinIORegion = "us-east-1"

// startTimeout bounds how long a MinIO may take to become ready.
const startTimeout = 30 * time.Second

// MinIO is a running MinIO server on 127.0.0.1 with random root
// credentials. Its helpers use the real S3 and admin APIs as root.
type MinIO struct {
	Endpoint     string // http://127.0.0.1:port
	RootUser     string
	RootPassword string
	Region       string

	dataDir string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	log     *lockedBuffer
	admin   *madmin.AdminClient
	s3      *s3.Client
}

// StartMinIO starts a MinIO server for this test with a temporary data
// directory and stops it when the test ends. Startup takes about half a
// second; packages with many tests can share one server with SharedMinIO.
func StartMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	bin := ToolPath(tb, "minio")
	m, err := startMinIO(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(m.stop)
	return m
}

// startMinIO starts a server in dataDir, retrying when a just-chosen port
// was taken by someone else.
func startMinIO(bin, dataDir string) (*MinIO, error) {
	var err error
	for range 3 {
		var m *MinIO
		m, err = startMinIOOnce(bin, dataDir)
		if err == nil {
			return m, nil
		}
	}
	return nil, err
}

func startMinIOOnce(bin, dataDir string) (*MinIO, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	user, password := newCredentials()
	m := &MinIO{
		Endpoint:     "http://127.0.0.1:" + strconv.Itoa(port),
		RootUser:     user,
		RootPassword: password,
		Region:       MinIORegion,
		dataDir:      dataDir,
		done:         make(chan struct{}),
		log:          &lockedBuffer{},
	}
	cmd := exec.Command(bin, "server", "--quiet", "--anonymous",
		"--address", "127.0.0.1:"+strconv.Itoa(port),
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort),
		dataDir)
	cmd.Env = minioEnv(user, password)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	m.cmd = cmd
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitReady(); err != nil {
		m.stop()
		return nil, fmt.Errorf("start minio: %w; output: %s", err, m.output())
	}
	if err := m.initClients(); err != nil {
		m.stop()
		return nil, err
	}
	if err := m.waitInitialized(); err != nil {
		m.stop()
		return nil, fmt.Errorf("start minio: %w; output: %s", err, m.output())
	}
	return m, nil
}

// waitInitialized waits until the S3 API really serves requests: under
// load MinIO reports ready on /minio/health/ready while S3 calls still
// answer XMinioServerNotInitialized for a moment.
func (m *MinIO) waitInitialized() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		_, err := m.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil {
			return nil
		}
		select {
		case <-m.done:
			return errors.New("server exited before it was initialized")
		case <-ctx.Done():
			return fmt.Errorf("S3 API not initialized after %s: %w", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// minioEnv is the environment of the server: the caller's, without any
// MINIO_* setting that could change the server, plus ours.
func minioEnv(user, password string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"MINIO_ROOT_USER="+user,
		"MINIO_ROOT_PASSWORD="+password,
		// MINIO_REGION is the legacy name; this version reads MINIO_SITE_REGION.
		"MINIO_SITE_REGION="+MinIORegion,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
	)
}

func (m *MinIO) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/minio/health/ready", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.done:
			return errors.New("server exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("server not ready after %s", startTimeout)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (m *MinIO) initClients() error {
	u, err := url.Parse(m.Endpoint)
	if err != nil {
		return fmt.Errorf("minio admin client: %w", err)
	}
	m.admin, err = madmin.NewWithOptions(u.Host, &madmin.Options{
		Creds:     madminCreds(m.RootUser, m.RootPassword),
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	})
	if err != nil {
		return fmt.Errorf("minio admin client: %w", err)
	}
	m.s3 = s3.New(s3.Options{
		Region:                     m.Region,
		BaseEndpoint:               aws.String(m.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(m.RootUser, m.RootPassword, ""),
		HTTPClient:                 &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return nil
}

// stop kills the server, waits for it and is safe to call twice.
func (m *MinIO) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
}

// output returns the server's output with the root password redacted.
func (m *MinIO) output() string {
	s := m.log.String()
	if m.RootPassword != "" {
		s = strings.ReplaceAll(s, m.RootPassword, "[redacted]")
	}
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// lockedBuffer is a bytes.Buffer safe for a child's stdout and stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
