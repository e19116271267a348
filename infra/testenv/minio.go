package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
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

	*proc
	dataDir string
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
	return retryStart(func() (*MinIO, error) { return startMinIOOnce(bin, dataDir) })
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
	p, err := startProc(bin, []string{"server", "--quiet", "--anonymous",
		"--address", "127.0.0.1:" + strconv.Itoa(port),
		"--console-address", "127.0.0.1:" + strconv.Itoa(consolePort),
		dataDir}, minioEnv(user, password), "", false)
	if err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	p.redact = password
	m := &MinIO{
		Endpoint:     "http://127.0.0.1:" + strconv.Itoa(port),
		RootUser:     user,
		RootPassword: password,
		Region:       MinIORegion,
		proc:         p,
		dataDir:      dataDir,
	}
	if err := m.waitHTTP(m.Endpoint+"/minio/health/ready", statusOK, startTimeout, 25*time.Millisecond); err != nil {
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
	err := m.poll(startTimeout, 50*time.Millisecond, func(ctx context.Context) error {
		_, err := m.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errProcExited):
		return errors.New("server exited before it was initialized")
	default:
		return fmt.Errorf("S3 API not initialized after %s: %w", startTimeout, err)
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
