package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeGCSStartTimeout bounds how long fake-gcs-server may take to answer.
const fakeGCSStartTimeout = 20 * time.Second

// FakeGCS is a running fake-gcs-server (an in-memory emulator of the
// Google Cloud Storage JSON and XML APIs) on 127.0.0.1, serving plain HTTP.
// It does no authentication: any or no credentials are accepted, and
// signed URLs are honoured without checking their signature. Its public
// host is its own address, so XML-API and signed URLs whose host is Host
// reach it.
type FakeGCS struct {
	Endpoint string // http://127.0.0.1:port
	Host     string // 127.0.0.1:port

	*proc
	client *http.Client
}

// StartFakeGCS starts a fake-gcs-server for this test with the memory
// backend and stops it when the test ends. Startup takes well under a
// second; packages with many tests can share one server with
// SharedFakeGCS.
func StartFakeGCS(tb testing.TB) *FakeGCS {
	tb.Helper()
	bin := ToolPath(tb, "fake-gcs-server")
	f, err := startFakeGCS(bin)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(f.stop)
	return f
}

var fakeGCSShared = sharedServer[*FakeGCS]{fn: "SharedFakeGCS", what: "fake-gcs-server"}

// SharedFakeGCS returns the package's one fake-gcs-server, starting it on
// first use; it is stopped by Main, which the package's TestMain must call.
// Tests sharing it should use their own buckets (BucketName).
func SharedFakeGCS(tb testing.TB) *FakeGCS {
	tb.Helper()
	bin := ToolPath(tb, "fake-gcs-server")
	return fakeGCSShared.get(tb, func(string) (*FakeGCS, error) { return startFakeGCS(bin) })
}

// startFakeGCS starts a server, retrying when a just-chosen port was taken
// by someone else.
func startFakeGCS(bin string) (*FakeGCS, error) {
	return retryStart(func() (*FakeGCS, error) { return startFakeGCSOnce(bin) })
}

func startFakeGCSOnce(bin string) (*FakeGCS, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start fake-gcs-server: %w", err)
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	endpoint := "http://" + host
	p, err := startProc(bin, []string{
		"-scheme", "http",
		"-host", "127.0.0.1",
		"-port", strconv.Itoa(port),
		"-public-host", host,
		"-external-url", endpoint,
		"-backend", "memory",
		"-log-level", "warn",
	}, fakeGCSEnv(), "", false)
	if err != nil {
		return nil, fmt.Errorf("start fake-gcs-server: %w", err)
	}
	f := &FakeGCS{
		Endpoint: endpoint,
		Host:     host,
		proc:     p,
		client:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	if err := f.waitHTTP(f.Endpoint+"/_internal/healthcheck", statusOK, fakeGCSStartTimeout, 25*time.Millisecond); err != nil {
		f.stop()
		return nil, fmt.Errorf("start fake-gcs-server: %w; output: %s", err, f.output())
	}
	return f, nil
}

// fakeGCSEnv is the environment of the server: the caller's, without any
// FAKE_GCS_ setting (the server reads its flags' defaults from them) or
// Google credential setting.
func fakeGCSEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAKE_GCS_") && !strings.HasPrefix(kv, "GOOGLE_") &&
			!strings.HasPrefix(kv, "STORAGE_EMULATOR_HOST=") {
			env = append(env, kv)
		}
	}
	return env
}

// CreateBucket creates a bucket through the JSON API.
func (f *FakeGCS) CreateBucket(tb testing.TB, name string) {
	tb.Helper()
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		tb.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	if err := f.call(tb, http.MethodPost, f.Endpoint+"/storage/v1/b", "application/json", body); err != nil {
		tb.Fatalf("testenv: create bucket %s: %v", name, err)
	}
}

// PutObject writes data at key in bucket through the JSON API's media
// upload.
func (f *FakeGCS) PutObject(tb testing.TB, bucket, key string, data []byte) {
	tb.Helper()
	u := f.Endpoint + "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?" +
		url.Values{"uploadType": {"media"}, "name": {key}}.Encode()
	if err := f.call(tb, http.MethodPost, u, "application/octet-stream", data); err != nil {
		tb.Fatalf("testenv: put %s/%s: %v", bucket, key, err)
	}
}

// GetObject returns the content of key in bucket, or an error naming the
// HTTP status (404 for a missing object or bucket).
func (f *FakeGCS) GetObject(tb testing.TB, bucket, key string) ([]byte, error) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	u := f.Endpoint + "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(key) + "?alt=media"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s/%s: %s", bucket, key, resp.Status)
	}
	return data, nil
}

func (f *FakeGCS) call(tb testing.TB, method, u, contentType string, body []byte) error {
	ctx, cancel := helperCtx(tb)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
