package testenv

import (
	"os"
	"sync"
	"testing"
)

var shared struct {
	mu      sync.Mutex
	inMain  bool
	minio   *MinIO
	err     error
	dataDir string
}

// Main runs the tests of a package that uses SharedMinIO and stops the
// shared servers afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// It calls os.Exit with the tests' exit code.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	stopShared()
	stopSharedMoto()
	stopSharedFakeGCS()
	stopSharedDynamoDB()
	stopSharedAzurite()
	os.Exit(code)
}

func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.minio != nil {
		shared.minio.stop()
		shared.minio = nil
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
		shared.dataDir = ""
	}
}

// SharedMinIO returns the package's one MinIO server, starting it on first
// use; it is stopped by Main, which the package's TestMain must call. Tests
// sharing it should use their own buckets and users (BucketName,
// NewCredentials).
func SharedMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	bin := ToolPath(tb, "minio")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("testenv: SharedMinIO needs testenv.Main in the package's TestMain")
	}
	if shared.minio == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "testenv-minio-")
		if err == nil {
			shared.dataDir = dir
			shared.minio, err = startMinIO(bin, dir)
		}
		shared.err = err
	}
	if shared.err != nil {
		tb.Fatalf("testenv: shared minio: %v", shared.err)
	}
	return shared.minio
}
