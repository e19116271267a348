package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	azurep "github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// bucketTarget is one provider's server with a fresh bucket: cfg builds a
// config for a prefix, put seeds an object.
type bucketTarget struct {
	opener   verify.Opener
	cfg      func(prefix string) *storageconfig.Config
	creds    storageconfig.Credentials
	put      func(t *testing.T, key string, data []byte)
	endpoint string            // the wanted BucketResult.Endpoint
	headers  map[string]string // the wanted SignedURLHeaders
	// sasOnly: the only credential is an Azure SAS token, so there must be
	// no SignedURL (it would carry the token), and the reason instead.
	sasOnly bool
}

// The prefixes of the seeded tree. Under dsPrefix: 14 files (one an
// info.labels at depth), a "directory" placeholder and leftover probe and
// CORS-test keys. Under plainPrefix: files without a labels file, some
// with near-miss names. Under boundPrefix: 25 files, then a labels file
// whose key sorts last.
const (
	dsPrefix    = "ds/"
	plainPrefix = "plain/"
	boundPrefix = "bounded/"
)

// seedTree writes the seeded tree and returns the size of each key that
// may be sampled.
func seedTree(t *testing.T, put func(t *testing.T, key string, data []byte)) map[string]int64 {
	t.Helper()
	eligible := map[string]int64{}
	add := func(key string, sampled bool) {
		data := []byte(strings.Repeat("x", len(key)%7) + `{"key":"` + key + `"}`)
		put(t, key, data)
		if sampled {
			eligible[key] = int64(len(data))
		}
	}
	for i := range 13 {
		add(fmt.Sprintf("%simg/%02d.jpg", dsPrefix, i), true)
	}
	add(dsPrefix+"a/b/info.labels", true)
	add(dsPrefix+"empty/", false)
	add(dsPrefix+verify.ProbeMarker+"left-over", false)
	add(dsPrefix+verify.CORSTestMarker+"left-over", false)
	add("outside/info.labels", false)
	for _, k := range []string{"x.json", "sub/y.json", "info.labels.bak", "not-info.labels"} {
		add(plainPrefix+k, true)
	}
	for i := range 25 {
		add(fmt.Sprintf("%sk%02d.json", boundPrefix, i), true)
	}
	add(boundPrefix+"z/info.labels", true)
	return eligible
}

func bucketTargets(t *testing.T) map[string]func(t *testing.T) bucketTarget {
	return map[string]func(t *testing.T) bucketTarget{
		"s3_compatible on MinIO": func(t *testing.T) bucketTarget {
			f := getFixture(t)
			bucket := testenv.BucketName(t, "vb")
			f.m.CreateBucket(t, bucket)
			id, secret := testenv.NewCredentials(t)
			f.m.AddUser(t, id, secret, testenv.ReadWritePolicy(bucket))
			return bucketTarget{
				opener: &anyblob.Opener{HTTPClient: &http.Client{}},
				cfg: func(p string) *storageconfig.Config {
					c := f.compatible(bucket)
					c.Settings.(*s3.Settings).KeyPrefix = p
					return c
				},
				creds: storageconfig.Credentials{"access_key_id": id, "secret_access_key": secret},
				put:   func(t *testing.T, key string, data []byte) { f.m.PutObject(t, bucket, key, data) },
			}
		},
		"gc_storage on fake-gcs-server": func(t *testing.T) bucketTarget {
			g := testenv.SharedFakeGCS(t)
			bucket := testenv.BucketName(t, "vb")
			g.CreateBucket(t, bucket)
			return bucketTarget{
				opener: &anyblob.Opener{HTTPClient: &http.Client{}, GCSEndpoint: g.Endpoint},
				cfg: func(p string) *storageconfig.Config {
					return &storageconfig.Config{Provider: gcs.Name, Settings: &gcs.Settings{BucketName: bucket, KeyPrefix: p, Auth: gcs.AuthServiceAccount}}
				},
				creds: storageconfig.Credentials{"service_account_json": anyblobtest.ServiceAccountJSON(t, nil)},
				put:   func(t *testing.T, key string, data []byte) { g.PutObject(t, bucket, key, data) },
			}
		},
		"azure_blob on Azurite, account key": func(t *testing.T) bucketTarget {
			return azureTarget(t, false)
		},
		"azure_blob on Azurite, SAS token": func(t *testing.T) bucketTarget {
			return azureTarget(t, true)
		},
	}
}

func azureTarget(t *testing.T, sas bool) bucketTarget {
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "vb")
	a.CreateContainer(t, container)
	creds := storageconfig.Credentials{"azure_account_key": a.AccountKey}
	if sas {
		creds = storageconfig.Credentials{"azure_sas_token": a.SASToken(t, container, "racwdl", time.Now().Add(time.Hour))}
	}
	endpoint := azureblob.Endpoint(a.AccountName, a.Endpoint())
	return bucketTarget{
		opener: &anyblob.Opener{HTTPClient: &http.Client{}},
		cfg: func(p string) *storageconfig.Config {
			return &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: a.AccountName, Container: container, KeyPrefix: p, Endpoint: endpoint}}
		},
		creds:    creds,
		put:      func(t *testing.T, key string, data []byte) { a.PutBlob(t, container, key, data) },
		endpoint: endpoint,
		headers:  map[string]string{"x-ms-blob-type": "BlockBlob"},
		sasOnly:  sas,
	}
}

// TestVerifyBucket runs VerifyBucket against each provider's server: the
// sample comes from the listing under the prefix, labels files are found
// at depth and only within the scan bound, and the signed URL takes a
// plain HTTP PUT whose bytes read back through the driver.
func TestVerifyBucket(t *testing.T) {
	targets := bucketTargets(t)
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		t.Run(name, func(t *testing.T) {
			tg := targets[name](t)
			eligible := seedTree(t, tg.put)
			v := &verify.Verifier{Opener: tg.opener, Deadline: 10 * time.Second}

			t.Run("connected", func(t *testing.T) {
				cfg := tg.cfg(dsPrefix)
				seen := map[string]bool{}
				for i := range 3 {
					v := *v
					v.Sequential = i == 2 // the same answer one lane at a time
					res := v.VerifyBucket(t.Context(), cfg, tg.creds)
					assertConnected(t, res, tg)
					if len(res.Files) != verify.SampleSize {
						t.Fatalf("Files = %+v, want %d", res.Files, verify.SampleSize)
					}
					thisRun := map[string]bool{}
					for _, f := range res.Files {
						key := dsPrefix + f.FolderName + f.Name
						size, ok := eligible[key]
						if !ok || !strings.HasPrefix(key, dsPrefix) || size != f.Size || thisRun[key] {
							t.Errorf("file %+v (key %q): not a listed file of the prefix, with its size %d, once", f, key, size)
						}
						thisRun[key], seen[key] = true, true
					}
					if !res.HasInfoLabelsFile {
						t.Errorf("HasInfoLabelsFile = false, want true (%sa/b/info.labels)", dsPrefix)
					}
				}
				// 3 uniform samples of 10 of 14 keys are all the same 10
				// keys with probability 1/1001².
				if len(seen) <= verify.SampleSize {
					t.Errorf("3 samples drew only %d keys: %v; want a random sample", len(seen), slices.Sorted(maps.Keys(seen)))
				}
				assertProbesGone(t, tg, cfg)
			})

			t.Run("signed url", func(t *testing.T) {
				cfg := tg.cfg(dsPrefix)
				res := v.VerifyBucket(t.Context(), cfg, tg.creds)
				assertConnected(t, res, tg)
				if tg.sasOnly {
					// The stored token must never reach the answer.
					if strings.Contains(fmt.Sprintf("%+v", res), tg.creds["azure_sas_token"]) {
						t.Fatalf("the result carries the SAS token: %+v", res)
					}
					return
				}
				if !strings.HasPrefix(res.SignedURLKey, dsPrefix+verify.CORSTestMarker) {
					t.Fatalf("SignedURLKey = %q, want %s%s<uuid>", res.SignedURLKey, dsPrefix, verify.CORSTestMarker)
				}
				data := []byte("bytes PUT through the signed URL at " + time.Now().String())
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, res.SignedURL, bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				for k, val := range res.SignedURLHeaders {
					req.Header.Set(k, val)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("PUT to the signed URL: %v", err)
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					t.Fatalf("PUT to the signed URL: %s: %s", resp.Status, body)
				}
				b := openBucket(t, tg, cfg)
				got, err := b.ReadRange(t.Context(), res.SignedURLKey, int64(len(data))+10)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("read back %q, %v; want %q", got, err, data)
				}
				// The uploaded object never enters a later sample.
				for _, f := range v.VerifyBucket(t.Context(), cfg, tg.creds).Files {
					if strings.Contains(f.Name, verify.CORSTestMarker) {
						t.Errorf("sampled the CORS-test object %+v", f)
					}
				}
			})

			t.Run("no labels file", func(t *testing.T) {
				res := v.VerifyBucket(t.Context(), tg.cfg(plainPrefix), tg.creds)
				assertConnected(t, res, tg)
				want := []verification.File{
					{Name: "info.labels.bak", Size: eligible[plainPrefix+"info.labels.bak"]},
					{Name: "not-info.labels", Size: eligible[plainPrefix+"not-info.labels"]},
					{Name: "y.json", Size: eligible[plainPrefix+"sub/y.json"], FolderName: "sub/"},
					{Name: "x.json", Size: eligible[plainPrefix+"x.json"]},
				}
				if !slices.Equal(res.Files, want) {
					t.Errorf("Files = %+v, want %+v", res.Files, want)
				}
				if res.HasInfoLabelsFile {
					t.Error("HasInfoLabelsFile = true, want false")
				}
			})

			t.Run("scan bound", func(t *testing.T) {
				bounded := *v
				bounded.ScanLimit = 20
				res := bounded.VerifyBucket(t.Context(), tg.cfg(boundPrefix), tg.creds)
				assertConnected(t, res, tg)
				if res.HasInfoLabelsFile {
					t.Errorf("HasInfoLabelsFile = true with a scan of 20 keys, want false: %sz/info.labels is key 26", boundPrefix)
				}
				for _, f := range res.Files {
					if f.FolderName != "" || f.Name >= "k20.json" {
						t.Errorf("file %+v is past the first 20 keys", f)
					}
				}
				if msg := res.Checks[0].Message; !strings.Contains(msg, "(the scan stops at 20 keys)") {
					t.Errorf("list message = %q, want it to say where the scan stopped", msg)
				}
				res = v.VerifyBucket(t.Context(), tg.cfg(boundPrefix), tg.creds)
				assertConnected(t, res, tg)
				if !res.HasInfoLabelsFile {
					t.Error("HasInfoLabelsFile = false with the default bound, want true")
				}
			})

			t.Run("empty prefix", func(t *testing.T) {
				res := v.VerifyBucket(t.Context(), tg.cfg("nothing-here/"), tg.creds)
				assertConnected(t, res, tg)
				if len(res.Files) != 0 || res.HasInfoLabelsFile || res.Checks[1].Code != "skipped" {
					t.Errorf("empty prefix: files %+v, labels %v, read %+v", res.Files, res.HasInfoLabelsFile, res.Checks[1])
				}
			})
		})
	}
}

// assertConnected checks a result whose five checks passed.
func assertConnected(t *testing.T, res verify.BucketResult, tg bucketTarget) {
	t.Helper()
	names := []string{"list", "read", "write", "delete", "presign"}
	if len(res.Checks) != len(names) {
		t.Fatalf("Checks = %+v, want %v", res.Checks, names)
	}
	for i, c := range res.Checks {
		if c.Name != names[i] || !c.OK || c.Message == "" {
			t.Errorf("check %d = %+v, want %s ok", i, c, names[i])
		}
	}
	if !res.Verified() || res.Files == nil {
		t.Fatalf("Verified %v, Files %v: want connected (errors %v)", res.Verified(), res.Files, res.Errors)
	}
	if tg.sasOnly {
		if res.SignedURL != "" || res.SignedURLUnavailable != azurep.NoSignedURLForSAS || res.Checks[4].Code != verify.CodeSkipped {
			t.Fatalf("SAS-only: SignedURL %q, SignedURLUnavailable %q, presign %+v; want no URL, the reason, presign skipped",
				res.SignedURL, res.SignedURLUnavailable, res.Checks[4])
		}
		return
	}
	if res.SignedURL == "" || res.SignedURLUnavailable != "" {
		t.Fatalf("SignedURL %q (unavailable: %q): want a signed URL", res.SignedURL, res.SignedURLUnavailable)
	}
	if res.Endpoint != tg.endpoint || !maps.Equal(res.SignedURLHeaders, tg.headers) {
		t.Errorf("Endpoint, SignedURLHeaders = %q, %v; want %q, %v", res.Endpoint, res.SignedURLHeaders, tg.endpoint, tg.headers)
	}
	assertNoSecret(t, res.Result, tg.creds)
}

func openBucket(t *testing.T, tg bucketTarget, cfg *storageconfig.Config) blob.Bucket {
	t.Helper()
	b, err := tg.opener.Open(t.Context(), cfg, tg.creds)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return b
}

// assertProbesGone checks that only the seeded leftover probe remains.
func assertProbesGone(t *testing.T, tg bucketTarget, cfg *storageconfig.Config) {
	t.Helper()
	objs, err := openBucket(t, tg, cfg).List(t.Context(), cfg.Prefix()+verify.ProbeMarker, 10)
	if err != nil {
		t.Fatalf("list probes: %v", err)
	}
	if len(objs) != 1 {
		t.Errorf("probe keys after the runs = %v, want only the seeded one", objs)
	}
}

// TestVerifyBucketFailures proves VerifyBucket reports failures exactly as
// Verify does (the same codes on the four checks, the same field errors),
// with a presign check of its own, and nothing else when not connected.
func TestVerifyBucketFailures(t *testing.T) {
	f := getFixture(t)
	b := f.bucket
	a := testenv.SharedAzurite(t)
	container := testenv.ContainerName(t, "vbfail")
	a.CreateContainer(t, container)
	azure := &storageconfig.Config{Provider: azurep.Name, Settings: &azurep.Settings{Account: a.AccountName, Container: container, KeyPrefix: prefix, Endpoint: azureblob.Endpoint(a.AccountName, a.Endpoint())}}
	opener := &anyblob.Opener{HTTPClient: &http.Client{}}
	tests := []struct {
		name        string
		opener      verify.Opener
		cfg         func() *storageconfig.Config
		creds       func(t *testing.T) storageconfig.Credentials
		presignCode string
	}{
		{name: "wrong secret", opener: opener, cfg: func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				c := f.user(t, "good", testenv.ReadWritePolicy(b))
				_, c["secret_access_key"] = testenv.NewCredentials(t)
				return c
			},
			// Signing is local: it cannot know the secret is wrong.
			presignCode: "ok"},
		{name: "missing bucket", opener: opener, cfg: func() *storageconfig.Config { return f.compatible(testenv.BucketName(t, "missing")) },
			creds: func(t *testing.T) storageconfig.Credentials { return f.user(t, "full", testenv.FullAccessPolicy) }, presignCode: "ok"},
		{name: "list only", opener: opener, cfg: func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials { return f.user(t, "list-only", testenv.PolicyFor(b)) }, presignCode: "ok"},
		{name: "missing secret", opener: opener, cfg: func() *storageconfig.Config { return f.compatible(b) },
			creds: func(t *testing.T) storageconfig.Credentials {
				return storageconfig.Credentials{"access_key_id": f.user(t, "good", testenv.ReadWritePolicy(b))["access_key_id"]}
			},
			presignCode: "signature_mismatch"},
		{name: "hanging endpoint", opener: opener,
			cfg: func() *storageconfig.Config {
				c := f.compatible(b)
				c.Settings.(*s3.Settings).Endpoint = testenv.HangingServer(t)
				return c
			},
			creds: func(t *testing.T) storageconfig.Credentials { return f.user(t, "good", testenv.ReadWritePolicy(b)) }, presignCode: "ok"},
		{name: "azure sas lacking write", opener: opener, cfg: func() *storageconfig.Config { return azure },
			creds: func(t *testing.T) storageconfig.Credentials {
				return storageconfig.Credentials{"azure_sas_token": a.SASToken(t, container, "rdl", time.Now().Add(time.Hour))}
			},
			presignCode: "skipped"},
		{name: "azure wrong key", opener: opener, cfg: func() *storageconfig.Config { return azure },
			creds: func(t *testing.T) storageconfig.Credentials {
				_, key := testenv.NewAzureAccount(t)
				return storageconfig.Credentials{"azure_account_key": key}
			},
			presignCode: "ok"},
		{name: "stuck driver", opener: stuckOpener{release: make(chan struct{})},
			cfg:         func() *storageconfig.Config { return f.compatible(b) },
			creds:       func(t *testing.T) storageconfig.Credentials { return f.user(t, "good", testenv.ReadWritePolicy(b)) },
			presignCode: "endpoint_unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, ok := tt.opener.(stuckOpener); ok {
				t.Cleanup(func() { close(s.release) })
			}
			cfg, creds := tt.cfg(), tt.creds(t)
			v := &verify.Verifier{Opener: tt.opener, Deadline: 2 * time.Second}
			want := v.Verify(t.Context(), cfg, creds)
			start := time.Now()
			got := v.VerifyBucket(t.Context(), cfg, creds)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("VerifyBucket took %s, want at most 3s", elapsed)
			}
			if want.Verified() || got.Verified() {
				t.Fatalf("Verified: Verify %v, VerifyBucket %v; want false", want.Verified(), got.Verified())
			}
			if len(got.Checks) != 5 || got.Checks[4].Name != "presign" || got.Checks[4].Code != tt.presignCode {
				t.Fatalf("Checks = %+v, want 5 ending with presign %s", got.Checks, tt.presignCode)
			}
			for i, c := range want.Checks {
				if g := got.Checks[i]; g.Name != c.Name || g.OK != c.OK || g.Code != c.Code {
					t.Errorf("check %d = %+v, want %+v as Verify reports it", i, g, c)
				}
			}
			if fmt.Sprint(got.Errors) != fmt.Sprint(want.Errors) {
				t.Errorf("Errors = %v, want %v as Verify reports them", got.Errors, want.Errors)
			}
			if got.Files != nil || got.HasInfoLabelsFile || got.SignedURL != "" || got.SignedURLHeaders != nil {
				t.Errorf("not connected, yet Files %v, labels %v, SignedURL %q, headers %v",
					got.Files, got.HasInfoLabelsFile, got.SignedURL, got.SignedURLHeaders)
			}
			assertNoSecret(t, got.Result, creds)
		})
	}
}

// TestVerifyBucketCancelled proves a cancelled context ends the run at once.
func TestVerifyBucketCancelled(t *testing.T) {
	f := getFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	v := &verify.Verifier{Opener: &anyblob.Opener{HTTPClient: &http.Client{}}}
	res := v.VerifyBucket(ctx, f.compatible(f.bucket), f.user(t, "good", testenv.ReadWritePolicy(f.bucket)))
	if res.Verified() || res.SignedURL != "" {
		t.Errorf("a cancelled run verified: %+v", res.Checks)
	}
}
