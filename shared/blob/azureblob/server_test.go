package azureblob_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
)

func callCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantCode fails unless err is a *blob.Error with code want.
func wantCode(t *testing.T, what string, err error, want blob.Code) {
	t.Helper()
	var be *blob.Error
	if !errors.As(err, &be) || be.Code != want {
		t.Fatalf("%s: %v, want a *blob.Error with code %s", what, err, want)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, key := testenv.NewAzureAccount(t)
	token := "sv=2022-11-02&sr=c&sp=rl&se=2030-01-01&sig=" + url.QueryEscape(key)
	base := azureblob.Options{AccountName: "acct", Container: "data", AccountKey: key, HTTPClient: httpClient()}
	tests := []struct {
		name   string
		modify func(o *azureblob.Options)
		want   error
	}{
		{name: "no credentials", modify: func(o *azureblob.Options) { o.AccountKey = "" }, want: azureblob.ErrNoCredentials},
		{name: "both credentials", modify: func(o *azureblob.Options) { o.SASToken = token }, want: azureblob.ErrBothCredentials},
		{name: "no HTTP client", modify: func(o *azureblob.Options) { o.HTTPClient = nil }, want: azureblob.ErrNoHTTPClient},
		{name: "bad account", modify: func(o *azureblob.Options) { o.AccountName = "Acct_1" }, want: azureblob.ErrBadAccountName},
		{name: "bad container", modify: func(o *azureblob.Options) { o.Container = "a--b" }, want: azureblob.ErrBadContainerName},
		{name: "bad endpoint", modify: func(o *azureblob.Options) { o.Endpoint = "ftp://x" }, want: azureblob.ErrBadEndpoint},
		{name: "key not base64", modify: func(o *azureblob.Options) { o.AccountKey = key[:10] + "!!" + key[10:] }, want: azureblob.ErrBadAccountKey},
		{name: "malformed token", modify: func(o *azureblob.Options) { o.AccountKey, o.SASToken = "", "sv=2022-11-02&sp=rl" }, want: azureblob.ErrSASMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.modify(&o)
			_, err := azureblob.New(o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), key[:16]) {
				t.Errorf("New's error shows the key: %v", err)
			}
		})
	}
	for _, ok := range []azureblob.Options{
		base,
		{AccountName: "acct", Container: "data", SASToken: "?" + token, HTTPClient: httpClient()},
	} {
		if _, err := azureblob.New(ok); err != nil {
			t.Errorf("New with valid options: %v", err)
		}
	}
}

// TestSASPermissions checks how Azurite enforces a token's permissions and
// expiry, and that the driver names what it can before connecting.
func TestSASPermissions(t *testing.T) {
	a := testenv.SharedAzurite(t)
	c := testenv.ContainerName(t, "perms")
	a.CreateContainer(t, c)
	a.PutBlob(t, c, "existing", []byte("data"))

	readList := open(t, a.Endpoint(), a.AccountName, c, "", a.SASToken(t, c, "rl", time.Now().Add(time.Hour)))
	if objs, err := readList.List(callCtx(t), "", 10); err != nil || len(objs) != 1 {
		t.Fatalf("List with rl = %v, %v; want the one blob", objs, err)
	}
	if got, err := readList.ReadRange(callCtx(t), "existing", 10); err != nil || string(got) != "data" {
		t.Fatalf("ReadRange with rl = %q, %v", got, err)
	}
	wantCode(t, "Put with rl", readList.Put(callCtx(t), "new", []byte("x")), blob.AccessDenied)
	wantCode(t, "Delete with rl", readList.Delete(callCtx(t), "existing"), blob.AccessDenied)
	_, err := readList.PresignPut(callCtx(t), "new", time.Minute)
	wantCode(t, "PresignPut with rl", err, blob.AccessDenied)
	if !errors.Is(err, &azureblob.SASProblem{Kind: azureblob.ProblemMissingPermission, Permission: "w"}) {
		t.Errorf("PresignPut with rl: %v, want a missing write permission", err)
	}

	writeOnly := open(t, a.Endpoint(), a.AccountName, c, "", a.SASToken(t, c, "cw", time.Now().Add(time.Hour)))
	_, err = writeOnly.List(callCtx(t), "", 10)
	wantCode(t, "List with cw", err, blob.AccessDenied)

	// An expired token is refused like a bad signature (AuthenticationFailed
	// on Azure, AuthorizationFailure on Azurite); ParseSAS names it first.
	expiredToken := a.SASToken(t, c, "rl", time.Now().Add(-time.Minute))
	info, err := azureblob.ParseSAS(expiredToken)
	if err != nil {
		t.Fatalf("ParseSAS: %v", err)
	}
	if probs := info.Problems(time.Now(), azureblob.AccessList); len(probs) != 1 || !errors.Is(probs[0], azureblob.ErrSASExpired) {
		t.Fatalf("Problems of an expired token = %v, want expired", probs)
	}
	expired := open(t, a.Endpoint(), a.AccountName, c, "", expiredToken)
	_, err = expired.List(callCtx(t), "", 10)
	wantCode(t, "List with an expired token", err, blob.SignatureMismatch)
}

func TestPresignPutSharedKey(t *testing.T) {
	a := testenv.SharedAzurite(t)
	c := testenv.ContainerName(t, "presign")
	a.CreateContainer(t, c)
	b := open(t, a.Endpoint(), a.AccountName, c, a.AccountKey, "")
	before := time.Now()
	u, err := b.PresignPut(callCtx(t), "dir/a b.bin", 10*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("presigned URL: %v", err)
	}
	if want := "/" + a.AccountName + "/" + c + "/dir/a b.bin"; pu.Path != want {
		t.Errorf("presigned path %q, want %q", pu.Path, want)
	}
	info, err := azureblob.ParseSAS(pu.RawQuery)
	if err != nil {
		t.Fatalf("ParseSAS of the presigned URL: %v", err)
	}
	if info.Resource != "b" || info.Permissions != "cw" {
		t.Errorf("presigned SAS: sr=%q sp=%q, want sr=b sp=cw", info.Resource, info.Permissions)
	}
	if lo, hi := before.Add(10*time.Minute-time.Second), time.Now().Add(10*time.Minute+time.Second); info.Expiry.Before(lo) || info.Expiry.After(hi) {
		t.Errorf("presigned SAS expires at %v, want about 10 minutes from now", info.Expiry)
	}
	if strings.Contains(u, url.QueryEscape(a.AccountKey)) || strings.Contains(u, a.AccountKey) {
		t.Error("presigned URL contains the account key")
	}
}

func TestCORS(t *testing.T) {
	a := testenv.SharedAzurite(t)
	c := testenv.ContainerName(t, "cors")
	a.CreateContainer(t, c)
	defer a.SetCORS(t, nil) // the rules are the shared account's
	b := open(t, a.Endpoint(), a.AccountName, c, a.AccountKey, "")
	reader := blob.Bucket(b).(blob.CORSReader)

	a.SetCORS(t, nil)
	rules, err := reader.CORS(callCtx(t))
	if err != nil || rules == nil || len(rules) != 0 {
		t.Fatalf("CORS without rules = %#v, %v; want an empty slice", rules, err)
	}

	str := func(s string) *string { return &s }
	age := int32(3600)
	a.SetCORS(t, []*service.CORSRule{{
		AllowedOrigins:  str("https://app.example.com,https://admin.example.com"),
		AllowedMethods:  str("GET,PUT"),
		AllowedHeaders:  str("x-ms-blob-type,content-type"),
		ExposedHeaders:  str("etag"),
		MaxAgeInSeconds: &age,
	}})
	rules, err = reader.CORS(callCtx(t))
	if err != nil {
		t.Fatalf("CORS: %v", err)
	}
	want := []blob.CORSRule{{
		AllowedOrigins: []string{"https://app.example.com", "https://admin.example.com"},
		AllowedMethods: []string{"GET", "PUT"},
		AllowedHeaders: []string{"x-ms-blob-type", "content-type"},
		ExposedHeaders: []string{"etag"},
		MaxAgeSeconds:  3600,
	}}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("CORS = %#v, want %#v", rules, want)
	}

	// An account SAS for the service level may read them too.
	cred, err := service.NewSharedKeyCredential(a.AccountName, a.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	rt := sas.AccountResourceTypes{Service: true, Container: true, Object: true}
	perms := sas.AccountPermissions{Read: true, List: true}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ResourceTypes: rt.String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	accountSAS := open(t, a.Endpoint(), a.AccountName, c, "", qp.Encode()).(blob.CORSReader)
	if rules, err := accountSAS.CORS(callCtx(t)); err != nil || !reflect.DeepEqual(rules, want) {
		t.Errorf("CORS with an account SAS = %#v, %v; want %#v", rules, err, want)
	}

	containerSAS := open(t, a.Endpoint(), a.AccountName, c, "", a.SASToken(t, c, allPerms, time.Now().Add(time.Hour))).(blob.CORSReader)
	_, err = containerSAS.CORS(callCtx(t))
	wantCode(t, "CORS with a container SAS", err, blob.AccessDenied)
	if !errors.Is(err, azureblob.ErrCORSNeedsAccountKey) {
		t.Errorf("CORS with a container SAS: %v, want ErrCORSNeedsAccountKey", err)
	}

	_, wrong := testenv.NewAzureAccount(t)
	wrongKey := open(t, a.Endpoint(), a.AccountName, c, wrong, "").(blob.CORSReader)
	_, err = wrongKey.CORS(callCtx(t))
	wantCode(t, "CORS with a wrong key", err, blob.SignatureMismatch)
}

// TestErrorsHideToken checks that transport failures, whose Go errors
// carry the request URL, do not show a SAS token's signature.
func TestErrorsHideToken(t *testing.T) {
	account, key := testenv.NewAzureAccount(t)
	token := testenv.AzureSAS(t, account, key, "data", allPerms, time.Now().Add(time.Hour))
	info, err := url.ParseQuery(token)
	if err != nil {
		t.Fatal(err)
	}
	sig := info.Get("sig")
	tests := []struct {
		name     string
		endpoint string
		timeout  time.Duration
		want     blob.Code
	}{
		{name: "refused", endpoint: testenv.RefusedEndpoint(t), timeout: 10 * time.Second, want: blob.Unreachable},
		{name: "hanging", endpoint: testenv.HangingServer(t), timeout: 300 * time.Millisecond, want: blob.Timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := open(t, tt.endpoint+"/"+account, account, "data", "", token)
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			_, err := b.List(ctx, "", 1)
			wantCode(t, "List", err, tt.want)
			for _, s := range []string{sig, url.QueryEscape(sig)} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error shows the SAS signature: %v", err)
				}
			}
		})
	}
}
