package testenv

import (
	"os"
	"sync"
	"testing"
)

// shared records whether the package's tests run under Main.
var shared struct {
	mu     sync.Mutex
	inMain bool
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
	minioShared.stop()
	motoShared.stop()
	fakeGCSShared.stop()
	dynamoShared.stop()
	azuriteShared.stop()
	os.Exit(code)
}

var minioShared = sharedServer[*MinIO]{fn: "SharedMinIO", what: "minio", dirPrefix: "testenv-minio-"}

// SharedMinIO returns the package's one MinIO server, starting it on first
// use; it is stopped by Main, which the package's TestMain must call. Tests
// sharing it should use their own buckets and users (BucketName,
// NewCredentials).
func SharedMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	bin := ToolPath(tb, "minio")
	return minioShared.get(tb, func(dir string) (*MinIO, error) { return startMinIO(bin, dir) })
}
