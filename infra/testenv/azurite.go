package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// azuriteStartTimeout bounds how long Azurite may take to load and listen.
const azuriteStartTimeout = 30 * time.Second

// Azurite is a running Azurite blob service (Microsoft's Azure Storage
// emulator) on 127.0.0.1, in memory, serving one storage account with a
// random name and a random key made at start (given to it through
// AZURITE_ACCOUNTS), so a wrong key really is wrong. Its well-known
// development account is not served.
//
// Accounts are addressed path-style: the account's blob endpoint is
// http://127.0.0.1:port/{account} (https with AzuriteOptions.OAuth).
type Azurite struct {
	URL         string // http://127.0.0.1:port, or https://127.0.0.1:port with OAuth
	AccountName string
	AccountKey  string // base64, as Azure shows account keys
	// CertPool holds the test certificate of an https server (OAuth); nil
	// for plain http.
	CertPool *x509.CertPool

	*proc
	svc *service.Client
	hc  *http.Client
}

// AzuriteOptions choose how StartAzuriteWith starts the server.
type AzuriteOptions struct {
	// OAuth starts it with --oauth basic over HTTPS (Azurite accepts
	// bearer tokens only over https), with a certificate for 127.0.0.1
	// made by the test (CertPool). Besides Shared Key and SAS it then
	// accepts bearer tokens, checking their issuer
	// (https://sts.windows.net/{tenant}/ and the like), audience
	// (https://storage.azure.com and the account's blob endpoints) and
	// lifetime, not their signature and not any role assignment; Get
	// User Delegation Key works with such a token.
	OAuth bool
	// ProductStyleURL lets it read the account from a production-style
	// host (ACCOUNT.blob.core.windows.net, reached through a test dialer)
	// as well as from the path of http(s)://127.0.0.1:port/ACCOUNT/.
	ProductStyleURL bool
}

// HTTPClient returns a plain client (no retries, no guard) that trusts the
// server's certificate when it has one, for test set-up and for drivers
// under test.
func (a *Azurite) HTTPClient() *http.Client { return a.hc }

// StartAzuriteWith is StartAzurite with opts.
func StartAzuriteWith(tb testing.TB, opts AzuriteOptions) *Azurite {
	tb.Helper()
	bin := ToolPath(tb, "azurite-blob")
	dir := tb.TempDir()
	a, err := retryStart(func() (*Azurite, error) { return startAzuriteOnce(bin, dir, opts) })
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(a.stop)
	return a
}

// Endpoint returns the account's blob endpoint,
// http://127.0.0.1:port/{account}, the value of a driver's endpoint option.
func (a *Azurite) Endpoint() string { return a.URL + "/" + a.AccountName }

// StartAzurite starts an Azurite blob service for this test and stops it
// when the test ends. Startup takes about a second (Node loads); packages
// with many tests can share one server with SharedAzurite. When Azurite is
// not installed the test fails if CI=true and is skipped otherwise.
func StartAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	bin := ToolPath(tb, "azurite-blob")
	a, err := startAzurite(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(a.stop)
	return a
}

var azuriteShared = sharedServer[*Azurite]{fn: "SharedAzurite", what: "azurite", dirPrefix: "testenv-azurite-"}

// SharedAzurite returns the package's one Azurite server, starting it on
// first use; it is stopped by Main, which the package's TestMain must call.
// Tests sharing it should use their own containers (ContainerName).
func SharedAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	bin := ToolPath(tb, "azurite-blob")
	return azuriteShared.get(tb, func(dir string) (*Azurite, error) { return startAzurite(bin, dir) })
}

// NewAzureAccount returns a fresh random storage account name (valid:
// 3-24 lower-case letters and digits) and a random base64 account key.
// Nothing is registered anywhere: it serves as an account Azurite does not
// know, or as a wrong key for one it does.
func NewAzureAccount(tb testing.TB) (name, key string) {
	tb.Helper()
	return newAzureAccount()
}

func newAzureAccount() (name, key string) {
	k := make([]byte, 64)
	if _, err := rand.Read(k); err != nil {
		panic("testenv: crypto/rand: " + err.Error())
	}
	return "bl" + randomString(lowerDigits, 14), base64.StdEncoding.EncodeToString(k)
}

// ContainerName returns a random valid container name starting with prefix
// (short, lower case, ending in a letter or digit).
func ContainerName(tb testing.TB, prefix string) string {
	tb.Helper()
	return prefix + "-" + randomString(lowerDigits, 12)
}

// startAzurite starts a server with workspace dir, retrying when a
// just-chosen port was taken by someone else.
func startAzurite(bin, dir string) (*Azurite, error) {
	return retryStart(func() (*Azurite, error) { return startAzuriteOnce(bin, dir, AzuriteOptions{}) })
}

func startAzuriteOnce(bin, dir string, opts AzuriteOptions) (*Azurite, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start azurite: %w", err)
	}
	name, key := newAzureAccount()
	args := []string{
		"--blobHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(port),
		// In memory; --location may not be combined with it, so the
		// working directory dir is the workspace for anything else.
		"--inMemoryPersistence",
		"--extentMemoryLimit", "256",
		"--silent",
		"--skipApiVersionCheck",
		"--loose",
		"--disableTelemetry",
	}
	if !opts.ProductStyleURL {
		args = append(args, "--disableProductStyleUrl")
	}
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var pool *x509.CertPool
	if opts.OAuth {
		certFile, keyFile, p, err := writeTestCert(dir)
		if err != nil {
			return nil, fmt.Errorf("start azurite: %w", err)
		}
		args = append(args, "--oauth", "basic", "--cert", certFile, "--key", keyFile)
		scheme, pool = "https", p
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	// Its own process group, so stop can kill anything it spawns.
	p, err := startProc(bin, args, azuriteEnv(name, key), dir, true)
	if err != nil {
		return nil, fmt.Errorf("start azurite: %w", err)
	}
	p.redact = key
	a := &Azurite{
		URL:         scheme + "://127.0.0.1:" + strconv.Itoa(port),
		AccountName: name,
		AccountKey:  key,
		CertPool:    pool,
		proc:        p,
		hc:          &http.Client{Transport: tr},
	}
	// Any answer proves it is listening: an unauthenticated request is
	// refused.
	hasServer := func(resp *http.Response) bool { return resp.Header.Get("Server") != "" }
	wait := &http.Client{Timeout: time.Second, Transport: tr}
	if err := a.waitHTTPWith(wait, a.Endpoint()+"?comp=list", hasServer, azuriteStartTimeout, 50*time.Millisecond); err != nil {
		a.stop()
		return nil, fmt.Errorf("start azurite: %w; output: %s", err, a.output())
	}
	if err := a.initClient(); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// azuriteEnv is the environment of the server: the caller's without any
// AZURITE_ or AZURE_ setting, plus the one account it serves.
func azuriteEnv(name, key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURITE_") && !strings.HasPrefix(kv, "AZURE_") {
			env = append(env, kv)
		}
	}
	return append(env, "AZURITE_ACCOUNTS="+name+":"+key)
}

func (a *Azurite) initClient() error {
	cred, err := service.NewSharedKeyCredential(a.AccountName, a.AccountKey)
	if err != nil {
		return fmt.Errorf("azurite client: %w", err)
	}
	svc, err := service.NewClientWithSharedKeyCredential(a.Endpoint()+"/", cred, &service.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: a.hc,
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
	})
	if err != nil {
		return fmt.Errorf("azurite client: %w", err)
	}
	a.svc = svc
	return nil
}

// Service returns an SDK service client for the account, authorized with
// its shared key and without retries, for test set-up.
func (a *Azurite) Service() *service.Client { return a.svc }

// CreateContainer creates a container in the account.
func (a *Azurite) CreateContainer(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if _, err := a.svc.NewContainerClient(name).Create(ctx, nil); err != nil {
		tb.Fatalf("testenv: azurite: create container %s: %v", name, err)
	}
}

// PutBlob writes a block blob.
func (a *Azurite) PutBlob(tb testing.TB, container, name string, data []byte) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	bb := a.svc.NewContainerClient(container).NewBlockBlobClient(name)
	if _, err := bb.UploadBuffer(ctx, data, nil); err != nil {
		tb.Fatalf("testenv: azurite: put blob %s/%s: %v", container, name, err)
	}
}

// GetBlob reads a whole blob.
func (a *Azurite) GetBlob(tb testing.TB, container, name string) []byte {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	resp, err := a.svc.NewContainerClient(container).NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		tb.Fatalf("testenv: azurite: get blob %s/%s: %v", container, name, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		tb.Fatalf("testenv: azurite: get blob %s/%s: %v", container, name, err)
	}
	return buf.Bytes()
}

// SASToken returns a service SAS for container (without a leading '?'),
// signed with the account key, allowing perms (letters of "racwdl...", in
// any order) until expiry over HTTP or HTTPS. An expiry in the past makes
// an expired token.
func (a *Azurite) SASToken(tb testing.TB, container, perms string, expiry time.Time) string {
	tb.Helper()
	return AzureSAS(tb, a.AccountName, a.AccountKey, container, perms, expiry)
}

// AzureSAS returns a service SAS for container of account signed with key
// (which need not be the account's: a wrong key makes a token the server
// rejects), allowing perms until expiry over HTTP or HTTPS, without a
// leading '?'. Its start is an hour back, so clock skew does not matter.
func AzureSAS(tb testing.TB, account, key, container, perms string, expiry time.Time) string {
	tb.Helper()
	cred, err := service.NewSharedKeyCredential(account, key)
	if err != nil {
		tb.Fatalf("testenv: azure sas: credential: %v", err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Hour).UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   perms,
		ContainerName: container,
	}.SignWithSharedKey(cred)
	if err != nil {
		tb.Fatalf("testenv: azure sas for %s: %v", container, err)
	}
	return qp.Encode()
}

// SetCORS replaces the account's blob service CORS rules (nil clears them).
func (a *Azurite) SetCORS(tb testing.TB, rules []*service.CORSRule) {
	tb.Helper()
	ctx, cancel := helperCtx(tb)
	defer cancel()
	if rules == nil {
		rules = []*service.CORSRule{}
	}
	if _, err := a.svc.SetProperties(ctx, &service.SetPropertiesOptions{CORS: rules}); err != nil {
		tb.Fatalf("testenv: azurite: set cors: %v", err)
	}
}
