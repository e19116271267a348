package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
)

// TestVerifyOtherProviders runs `bucketlink verify` for the other
// providers and auth methods, each secret from where the help says:
// gc_storage service-account JSON from --credentials-file and from
// GOOGLE_APPLICATION_CREDENTIALS (fake-gcs-server), gc_storage HMAC keys
// from the environment (MinIO as the HMAC endpoint), and azure_blob's
// account key from AZURE_STORAGE_KEY and a SAS token on standard input
// (Azurite); a SAS without write permission fails exactly the write
// check, without connecting.
func TestVerifyOtherProviders(t *testing.T) {
	g := testenv.StartFakeGCS(t)
	a := testenv.StartAzurite(t)
	m := testenv.StartMinIO(t)
	gcsBucket := testenv.BucketName(t, "doctor")
	g.CreateBucket(t, gcsBucket)
	container := testenv.ContainerName(t, "doctor")
	a.CreateContainer(t, container)
	hmacBucket := testenv.BucketName(t, "hmac")
	m.CreateBucket(t, hmacBucket)
	hmacID, hmacSecret := anyblobtest.HMACAccessID(t), "hmacsecret"+strings.Repeat("x", 30)
	m.AddUser(t, hmacID, hmacSecret, testenv.ReadWritePolicy(hmacBucket))

	keyFile := filepath.Join(t.TempDir(), "key.json")
	saJSON := anyblobtest.ServiceAccountJSON(t, nil)
	if err := os.WriteFile(keyFile, []byte(saJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnlySAS := a.SASToken(t, container, "rdl", time.Now().Add(time.Hour))
	fullSAS := a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))
	emulators := []string{"--allow-private-endpoints=true", "--gcs-endpoint", g.Endpoint, "--azure-blob-endpoint", a.URL,
		"--gcs-hmac-endpoint", m.Endpoint, "--gcs-hmac-region", m.Region}
	gcs := []string{"--provider", "gc_storage", "--bucket", gcsBucket}
	azure := []string{"--provider", "azure_blob", "--account", a.AccountName, "--bucket", container}

	for _, tc := range []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		code   int
		failed []string
	}{
		{name: "gcs key file", args: append(gcs, "--credentials-file", keyFile), code: exitPassed},
		{name: "gcs GOOGLE_APPLICATION_CREDENTIALS", env: map[string]string{envGoogleCredentials: keyFile}, args: gcs, code: exitPassed},
		{name: "gcs key on stdin", stdin: saJSON, args: append(gcs, "--credentials-file", "-"), code: exitPassed},
		{name: "gcs hmac", env: map[string]string{envGCSHMACAccessID: hmacID, envGCSHMACSecret: hmacSecret},
			args: []string{"--provider", "gc_storage", "--bucket", hmacBucket, "--auth-method", "hmac"}, code: exitPassed},
		{name: "azure key", env: map[string]string{envAzureKey: a.AccountKey}, args: azure, code: exitPassed},
		{name: "azure account from env", env: map[string]string{envAzureKey: a.AccountKey, "AZURE_STORAGE_ACCOUNT": a.AccountName},
			args: []string{"--provider", "azure_blob", "--bucket", container}, code: exitPassed},
		{name: "azure sas on stdin", stdin: fullSAS + "\n", args: append(azure, "--secret-file", "-", "--auth-method", "sas"), code: exitPassed},
		{name: "azure sas without write", env: map[string]string{envAzureSAS: readOnlySAS}, args: azure, code: exitFailed, failed: []string{"write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearCredentialEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append(append([]string{"verify"}, tc.args...), emulators...)
			stdout, stderr, code := command(t, tc.stdin, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if got := failedChecks(t, stdout); strings.Join(got, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed checks %v, want %v:\n%s", got, tc.failed, stdout)
			}
			if tc.code == exitPassed && (!strings.Contains(stderr, "  list: started") || !strings.Contains(stderr, "  delete: answered")) {
				t.Errorf("the driver's calls were not shown:\n%s", stderr)
			}
			for _, secret := range []string{a.AccountKey, fullSAS, readOnlySAS, hmacSecret, saJSON} {
				if strings.Contains(stdout+stderr, secret) {
					t.Fatal("a secret reached the output")
				}
			}
		})
	}
}
