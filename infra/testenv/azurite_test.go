package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// TestAzurite proves that the shared server's helpers work and that it
// really enforces the random account's key and SAS tokens.
func TestAzurite(t *testing.T) {
	a := SharedAzurite(t)
	if a2 := SharedAzurite(t); a2 != a {
		t.Fatal("SharedAzurite started a second server")
	}
	c := ContainerName(t, "env")
	a.CreateContainer(t, c)
	a.PutBlob(t, c, "dir/hello.txt", []byte("hello"))
	if got := a.GetBlob(t, c, "dir/hello.txt"); string(got) != "hello" {
		t.Fatalf("GetBlob = %q, want hello", got)
	}

	_, wrongKey := NewAzureAccount(t)
	unknown, unknownKey := NewAzureAccount(t)
	tests := []struct {
		name       string
		method     string
		url        string
		blobType   bool
		wantStatus int
		wantCode   string
	}{
		{name: "read with SAS", method: http.MethodGet, url: a.Endpoint() + "/" + c + "/dir/hello.txt?" + a.SASToken(t, c, "r", time.Now().Add(time.Hour)), wantStatus: 200},
		{name: "write with SAS", method: http.MethodPut, blobType: true, url: a.Endpoint() + "/" + c + "/new.txt?" + a.SASToken(t, c, "cw", time.Now().Add(time.Hour)), wantStatus: 201},
		{name: "write without permission", method: http.MethodPut, blobType: true, url: a.Endpoint() + "/" + c + "/new.txt?" + a.SASToken(t, c, "r", time.Now().Add(time.Hour)), wantStatus: 403, wantCode: "AuthorizationPermissionMismatch"},
		{name: "expired SAS", method: http.MethodGet, url: a.Endpoint() + "/" + c + "/dir/hello.txt?" + a.SASToken(t, c, "r", time.Now().Add(-time.Minute)), wantStatus: 403, wantCode: "AuthorizationFailure"},
		{name: "SAS signed with a wrong key", method: http.MethodGet, url: a.Endpoint() + "/" + c + "/dir/hello.txt?" + AzureSAS(t, a.AccountName, wrongKey, c, "r", time.Now().Add(time.Hour)), wantStatus: 403, wantCode: "AuthorizationFailure"},
		{name: "unknown account", method: http.MethodGet, url: a.URL + "/" + unknown + "/" + c + "/dir/hello.txt?" + AzureSAS(t, unknown, unknownKey, c, "r", time.Now().Add(time.Hour)), wantStatus: 404, wantCode: "ResourceNotFound"},
		{name: "anonymous", method: http.MethodGet, url: a.Endpoint() + "/" + c + "/dir/hello.txt", wantStatus: 403, wantCode: "AuthorizationFailure"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, tt.url, bytes.NewReader([]byte("x")))
			if err != nil {
				t.Fatal(err)
			}
			if tt.blobType {
				req.Header.Set("x-ms-blob-type", "BlockBlob")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("x-ms-error-code") != tt.wantCode {
				t.Errorf("%s: %d %q, want %d %q", tt.name, resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// TestAzuriteWrongKey proves that Azurite checks Shared Key signatures and
// does not serve its well-known development account.
func TestAzuriteWrongKey(t *testing.T) {
	a := SharedAzurite(t)
	_, wrongKey := NewAzureAccount(t)
	for _, account := range []struct{ name, key, wantCode string }{
		{a.AccountName, wrongKey, "AuthorizationFailure"},
		{"devstoreaccount1", base64.StdEncoding.EncodeToString([]byte("not the published development key")), "ResourceNotFound"},
	} {
		cred, err := service.NewSharedKeyCredential(account.name, account.key)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := service.NewClientWithSharedKeyCredential(a.URL+"/"+account.name+"/", cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err = svc.GetProperties(ctx, nil)
		cancel()
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.ErrorCode != account.wantCode {
			t.Errorf("GetProperties as %s with a wrong key: %v, want error code %s", account.name, err, account.wantCode)
		}
	}
}

func TestAzuriteCORS(t *testing.T) {
	a := StartAzurite(t)
	s := func(v string) *string { return &v }
	age := int32(60)
	a.SetCORS(t, []*service.CORSRule{{
		AllowedOrigins: s("https://app.example.com"), AllowedMethods: s("PUT"),
		AllowedHeaders: s("*"), ExposedHeaders: s(""), MaxAgeInSeconds: &age,
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	props, err := a.Service().GetProperties(ctx, nil)
	if err != nil {
		t.Fatalf("GetProperties: %v", err)
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedOrigins != "https://app.example.com" {
		t.Fatalf("CORS = %+v, want the rule just set", props.CORS)
	}
}

// TestStartAzurite checks that a per-test server is stopped, with its
// whole process group, when its test ends.
func TestStartAzurite(t *testing.T) {
	var a *Azurite
	t.Run("run", func(t *testing.T) {
		start := time.Now()
		a = StartAzurite(t)
		t.Logf("azurite ready in %s", time.Since(start))
		a.CreateContainer(t, ContainerName(t, "own"))
	})
	select {
	case <-a.done:
	default:
		t.Fatal("azurite still running after its test ended")
	}
	if err := syscall.Kill(-a.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("azurite's process group still exists: %v", err)
	}
}

func TestNewAzureAccount(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	n1, k1 := NewAzureAccount(t)
	n2, k2 := NewAzureAccount(t)
	for _, n := range []string{n1, n2} {
		if !valid.MatchString(n) {
			t.Errorf("account name %q is not a valid storage account name", n)
		}
	}
	for _, k := range []string{k1, k2} {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 64 {
			t.Errorf("account key is not 64 bytes of base64: %d bytes, %v", len(b), err)
		}
	}
	if n1 == n2 || k1 == k2 {
		t.Error("two accounts are the same")
	}
	if c := ContainerName(t, "abc"); !regexp.MustCompile(`^abc-[a-z0-9]{12}$`).MatchString(c) {
		t.Errorf("ContainerName = %q", c)
	}
}
