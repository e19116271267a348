package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/openapi/openapitest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bucketlink test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS runs serve with --tls-cert and --tls-key: it answers the
// API over HTTPS with that certificate, and refuses a plain HTTP request;
// a certificate without its key, or a bad one, stops it at start-up.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	data := filepath.Join(dir, "data")
	addr := startTLSServe(t, data, certFile, keyFile)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: openapitest.Transport(t, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}), Timeout: 5 * time.Second}
	req, _ := http.NewRequest("GET", "https://"+addr+"/api/v1/storage-configs/setup-info/", nil)
	req.Header.Set("X-Avala-Api-Key", strings.TrimSpace(string(key)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("HTTPS setup-info = %d (TLS %v), want 200 over TLS", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/api/v1/storage-configs/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port = %d, want Go's 400 for HTTP on an HTTPS port", resp.StatusCode)
		}
	}

	for name, args := range map[string][]string{
		"cert without key": {"--tls-cert", certFile},
		"key as the cert":  {"--tls-cert", keyFile, "--tls-key", keyFile},
	} {
		err := run(context.Background(), append([]string{"serve", "--addr", freeAddr(t), "--data", filepath.Join(dir, "other")}, args...), &lockedBuffer{}, &lockedBuffer{})
		if err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%s: serve = %v, want an error about TLS at start-up", name, err)
		}
	}
}

// startTLSServe runs serve with the certificate until the test ends and
// returns its address. freeAddr's port can be taken by another test
// before serve binds it, so a bind failure is retried on a fresh port.
func startTLSServe(t *testing.T, data, certFile, keyFile string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr, err := tryTLSServe(t, data, certFile, keyFile)
		if err == nil {
			return addr
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

// tryTLSServe starts serve on a free port and waits until it listens.
func tryTLSServe(t *testing.T, data, certFile, keyFile string) (string, error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--data", data, "--tls-cert", certFile, "--tls-key", keyFile}, out, &lockedBuffer{})
	}()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "listening on https://") {
		select {
		case err := <-done:
			cancel()
			return "", fmt.Errorf("serve ended before listening: %v; output %s", err, out.String())
		case <-deadline:
			cancel()
			return "", fmt.Errorf("serve did not start on https: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return addr, nil
}
