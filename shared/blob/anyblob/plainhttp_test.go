package anyblob_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// TestPlainHTTPEndpointRefused: with private endpoints disallowed (the
// production policy), an http:// endpoint, which would carry a SAS token
// or signed requests in clear and make presigned URLs bearer URLs in
// clear, fails every check with https_required on the endpoint's field,
// without a request and without a signed URL. With private endpoints
// allowed (emulators), the same endpoint is used.
func TestPlainHTTPEndpointRefused(t *testing.T) {
	var hits atomic.Int64
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusForbidden)
	})
	// A public name on plain http: the refusal comes before any lookup.
	const host = "http://storage.example.com"
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
	tests := []struct {
		name  string
		cfg   *storageconfig.Config
		creds storageconfig.Credentials
		field string
	}{
		{"azure_blob with a SAS token", &storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: "acme", Container: "data", Endpoint: host + "/acme/"}},
			storageconfig.Credentials{"azure_sas_token": "sv=2022-11-02&sr=c&sp=racwdl&se=2099-01-01T00:00:00Z&sig=c2lnbmF0dXJl"}, "azure_endpoint_url"},
		{"azure_blob with an account key", &storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: "acme", Container: "data", Endpoint: host + "/acme/"}},
			storageconfig.Credentials{"azure_account_key": key}, "azure_endpoint_url"},
		{"s3_compatible", &storageconfig.Config{Provider: s3.NameCompatible, Settings: &s3.Settings{Compatible: true, BucketName: "data", Endpoint: host, UsePathStyle: true}},
			storageconfig.Credentials{"access_key_id": "AKIAPLAIN", "secret_access_key": "plain-secret"}, "s3_endpoint_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &verify.Verifier{Opener: &anyblob.Opener{HTTPClient: netguard.Policy{}.HTTPClient()}}
			res := v.VerifyBucket(t.Context(), tc.cfg, tc.creds)
			for _, c := range res.Checks {
				want := "https_required"
				if c.Name == "read" || c.Name == "delete" {
					want = "skipped"
				}
				if c.Code != want {
					t.Errorf("check %s: %s (%s), want %s", c.Name, c.Code, c.Message, want)
				}
			}
			msgs := res.Errors[tc.field]
			if len(res.Errors) != 1 || len(msgs) != 1 || !strings.Contains(msgs[0], "https://") {
				t.Fatalf("errors %v, want one message on %s asking for https://", res.Errors, tc.field)
			}
			if res.SignedURL != "" {
				t.Errorf("a signed URL was made for a plain-http endpoint: %s", res.SignedURL)
			}
		})
	}

	// The same configs, aimed at the loopback server with private endpoints
	// allowed, are sent: the refusal is the policy's, not the scheme's.
	allowed := &anyblob.Opener{HTTPClient: netguard.Policy{AllowPrivate: true}.HTTPClient()}
	for _, tc := range tests {
		cfg := *tc.cfg
		switch s := cfg.Settings.(type) {
		case *azure.Settings:
			c := *s
			c.Endpoint = strings.Replace(c.Endpoint, host, srv.URL, 1)
			cfg.Settings = &c
		case *s3.Settings:
			c := *s
			c.Endpoint = srv.URL
			cfg.Settings = &c
		}
		b, err := allowed.Open(t.Context(), &cfg, tc.creds)
		if err != nil {
			t.Fatalf("%s: Open with private endpoints allowed: %v", tc.name, err)
		}
		if _, err := b.List(t.Context(), "", 1); blob.CodeOf(err) != blob.AccessDenied {
			t.Errorf("%s: List with private endpoints allowed: %v, want the server's 403", tc.name, err)
		}
	}
	if hits.Load() == 0 {
		t.Error("with private endpoints allowed, no request reached the server")
	}
}

// TestPlainHTTPOperatorEndpoint: the operator's endpoint overrides go
// through the same client, and are refused the same way on plain http
// unless private endpoints are allowed.
func TestPlainHTTPOperatorEndpoint(t *testing.T) {
	hc := netguard.Policy{}.HTTPClient()
	tests := []struct {
		name   string
		opener *anyblob.Opener
		cfg    *storageconfig.Config
		creds  storageconfig.Credentials
	}{
		{"gc_storage HMAC endpoint", &anyblob.Opener{HTTPClient: hc, GCSHMACEndpoint: "http://minio.example.com"},
			hmacConfig("data"), storageconfig.Credentials{"access_key_id": "GOOG1EPLAIN", "secret_access_key": "s"}},
		{"azure_blob emulator endpoint", &anyblob.Opener{HTTPClient: hc, AzureBlobEndpoint: "http://azurite.example.com"},
			&storageconfig.Config{Provider: azure.Name, Settings: &azure.Settings{Account: "acme", Container: "data"}},
			storageconfig.Credentials{"azure_account_key": base64.StdEncoding.EncodeToString([]byte("key"))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opener.Open(t.Context(), tc.cfg, tc.creds)
			if !errors.Is(err, netguard.ErrPlainHTTP) || blob.CodeOf(err) != blob.Unreachable {
				t.Fatalf("Open: %v, want a blob.Unreachable error wrapping netguard.ErrPlainHTTP", err)
			}
		})
	}
}

// TestListNeverReturnsMoreThanAsked: a server that sends more objects than
// the listing asked for (a page of 2,000 short keys, under the byte limit
// of even an 11-key listing, netguard.MinListingBodyBytes) is cut to the
// limit by every driver.
func TestListNeverReturnsMoreThanAsked(t *testing.T) {
	const sent = 2000
	page := func(head, item, tail string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, head)
			for i := range sent {
				if i > 0 && strings.HasPrefix(item, "{") {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, item, i)
			}
			io.WriteString(w, tail)
		}
	}
	tests := []struct {
		target  hostileTarget
		handler http.HandlerFunc
	}{
		{s3Target, page(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name>`,
			`<Contents><Key>k%05d</Key><Size>1</Size></Contents>`, `</ListBucketResult>`)},
		{azureTarget, page(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="data"><Blobs>`,
			`<Blob><Name>k%05d</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>`, `</Blobs><NextMarker /></EnumerationResults>`)},
		{gcsTarget, page(`{"items":[`, `{"name":"k%05d","size":"1"}`, `]}`)},
	}
	for _, tc := range tests {
		t.Run(tc.target.provider, func(t *testing.T) {
			srv := hostileServer(t, tc.handler)
			opener, cfg, creds := tc.target.open(t, srv.URL)
			b, err := opener.Open(t.Context(), cfg, creds)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			for _, limit := range []int{11, 0, 5000} {
				objs, err := b.List(t.Context(), "", limit)
				if err != nil {
					t.Fatalf("List(%d): %v", limit, err)
				}
				if want := blob.ListLimit(limit); len(objs) != want {
					t.Errorf("List(%d) returned %d objects of the %d sent, want %d", limit, len(objs), sent, want)
				}
			}
		})
	}
}
