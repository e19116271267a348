package testenv

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// VenvEnv names an environment variable that, when set, is the Python
// virtualenv holding moto (instead of <repo>/.tools/venv).
const VenvEnv = "BUCKETLINK_VENV"

// MotoRegion is the region AWSConfig points clients at.
const MotoRegion = "us-east-1"

// motoStartTimeout bounds how long moto may take to import and listen.
const motoStartTimeout = 30 * time.Second

// Moto is a running moto server (an in-memory emulator of AWS APIs such as
// KMS and DynamoDB) on 127.0.0.1. It accepts any credentials; AWSConfig
// gives SDK clients random fake ones.
type Moto struct {
	Endpoint string // http://127.0.0.1:port
	Region   string

	accessKeyID, secretAccessKey string

	*proc
}

// StartMoto starts a moto server for this test and stops it when the test
// ends. Startup takes a second or two (Python imports); packages with many
// tests can share one server with SharedMoto. When the virtualenv is not
// installed the test fails if CI=true and is skipped otherwise.
func StartMoto(tb testing.TB) *Moto {
	tb.Helper()
	bin := motoPath(tb)
	m, err := startMoto(bin)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(m.stop)
	return m
}

var motoShared = sharedServer[*Moto]{fn: "SharedMoto", what: "moto"}

// SharedMoto returns the package's one moto server, starting it on first
// use. The package's TestMain must call Main. Tests sharing it should use
// their own resources (a fresh KMS key, their own table names).
//
// The server dies with the test binary (on Linux through the parent-death
// signal); Main stops it explicitly.
func SharedMoto(tb testing.TB) *Moto {
	tb.Helper()
	bin := motoPath(tb)
	return motoShared.get(tb, func(string) (*Moto, error) { return startMoto(bin) })
}

// motoPath returns the moto_server script of the test virtualenv, failing
// (CI=true) or skipping the test when it is missing, like ToolPath.
func motoPath(tb testing.TB) string {
	tb.Helper()
	p, err := findMoto()
	if err == nil {
		return p
	}
	Missing(tb, fmt.Sprintf("testenv: %v; run make tools (infra/testenv/install-tools.sh)", err))
	return ""
}

func findMoto() (string, error) {
	venv := os.Getenv(VenvEnv)
	if venv == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		venv = filepath.Join(root, ".tools", "venv")
	}
	p := filepath.Join(venv, "bin", "moto_server")
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("moto not installed in virtualenv %s: %w", venv, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("moto_server at %s is not an executable file", p)
	}
	return p, nil
}

// startMoto starts a server, retrying when a just-chosen port was taken by
// someone else.
func startMoto(bin string) (*Moto, error) {
	return retryStart(func() (*Moto, error) { return startMotoOnce(bin) })
}

func startMotoOnce(bin string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	id, secret := newCredentials()
	// Its own process group, so stop can kill anything it spawns.
	p, err := startProc(bin, []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)}, motoEnv(), "", true)
	if err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	m := &Moto{
		Endpoint:        "http://127.0.0.1:" + strconv.Itoa(port),
		Region:          MotoRegion,
		accessKeyID:     id,
		secretAccessKey: secret,
		proc:            p,
	}
	if err := m.waitHTTP(m.Endpoint+"/moto-api/data.json", statusOK, motoStartTimeout, 50*time.Millisecond); err != nil {
		m.stop()
		return nil, fmt.Errorf("start moto: %w; output: %s", err, m.output())
	}
	return m, nil
}

// motoEnv is the environment of the server: the caller's, without any AWS_
// or MOTO_ setting that could change the server or point it at real AWS.
func motoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "MOTO_") {
			env = append(env, kv)
		}
	}
	return append(env, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
}

// AWSConfig returns an SDK configuration for this server: region
// us-east-1, static random fake credentials and BaseEndpoint set to the
// server, so kms.NewFromConfig(cfg) (or any other service client) talks to
// moto. SDK retries are left at their defaults.
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       m.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(m.accessKeyID, m.secretAccessKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
		HTTPClient:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
}

// NewKMSKey creates a fresh symmetric encryption key in moto's KMS and
// returns its key ID. Each call gives an independent key.
func (m *Moto) NewKMSKey(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	out, err := kms.NewFromConfig(m.AWSConfig()).CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("bucketlink test key for " + tb.Name()),
		KeySpec:     kmstypes.KeySpecSymmetricDefault,
		KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
	})
	if err != nil {
		tb.Fatalf("testenv: create kms key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}
