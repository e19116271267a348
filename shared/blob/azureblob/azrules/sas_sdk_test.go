package azrules_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
)

// ParseSAS reads tokens without the Azure SDK so that storageconfig, which
// every function links, does not link azcore (azblob/sas would add 84
// packages, 30 of them Azure's, to each). The SDK's reading is the
// contract: these tests check that ParseSAS agrees with sas.QueryParameters
// on every field it reads, for tokens the SDK signs and for hand-written
// ones. ParseSAS is stricter (the SDK validates nothing: it drops an
// unreadable time to zero) and says what is wrong; that part is its own.

// sdkSigned returns SAS tokens signed by the SDK with an Azurite-style key.
func sdkSigned(t testing.TB) []string {
	t.Helper()
	cred, err := service.NewSharedKeyCredential("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	expiry := time.Date(2030, 6, 7, 8, 9, 10, 0, time.UTC)
	var tokens []string
	add := func(q sas.QueryParameters, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, q.Encode())
	}
	add(sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPS, StartTime: start, ExpiryTime: expiry,
		Permissions:   (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}).String(),
		ContainerName: "datasets",
	}.SignWithSharedKey(cred))
	add(sas.BlobSignatureValues{
		ExpiryTime: expiry, Permissions: (&sas.BlobPermissions{Create: true, Write: true}).String(),
		ContainerName: "datasets", BlobName: "a/b.json",
	}.SignWithSharedKey(cred))
	add(sas.BlobSignatureValues{ContainerName: "datasets", Identifier: "policy1"}.SignWithSharedKey(cred))
	add(sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: start, ExpiryTime: expiry,
		Permissions:   (&sas.AccountPermissions{Read: true, List: true, Write: true, Delete: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred))
	return tokens
}

// handWritten are tokens as users paste them, each time format Azure
// documents included.
var handWritten = []string{
	"?sv=2022-11-02&sr=c&sp=racwdl&se=2030-01-02T03:04:05Z&spr=https&sig=c2ln",
	"sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2030-01-02&st=2020-01-01T00:00Z&sig=c2ln",
	"sv=2022-11-02&sr=c&sp=r&se=2030-01-02T03:04:05.0000000Z&sig=c2ln",
	"sv=2022-11-02&sr=b&sp=cw&se=2030-01-02&sig=c2ln%3D&skoid=x&ses=scope",
	"sv=2022-11-02&sr=c&si=policy1&sig=c2ln",
	"sv=2022-11-02&sr=c&sp=r&se=2030-01-02&sig=a&sig=b",
}

func TestParseSASAgreesWithSDK(t *testing.T) {
	for _, token := range append(sdkSigned(t), handWritten...) {
		info, err := azrules.ParseSAS(token)
		if err != nil {
			t.Errorf("ParseSAS(%q): %v", token, err)
			continue
		}
		agreeWithSDK(t, token, info)
	}
}

// FuzzParseSASAgreesWithSDK: whatever ParseSAS accepts, the SDK reads the
// same way.
func FuzzParseSASAgreesWithSDK(f *testing.F) {
	for _, token := range append(sdkSigned(f), handWritten...) {
		f.Add(token)
	}
	f.Fuzz(func(t *testing.T, token string) {
		info, err := azrules.ParseSAS(token)
		if err != nil {
			return
		}
		agreeWithSDK(t, token, info)
	})
}

func agreeWithSDK(t *testing.T, token string, info azrules.SASInfo) {
	t.Helper()
	values, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(token), "?"))
	if err != nil {
		t.Fatalf("ParseSAS accepted %q, which is no query string: %v", token, err)
	}
	if hasUpperKey(values) {
		// The SDK folds the case of parameter names; ParseSAS reads them
		// as Azure documents them, in lower case.
		return
	}
	q := sas.NewQueryParameters(values, false)
	fields := []struct{ name, ours, sdk string }{
		{"sv", info.Version, q.Version()},
		{"sp", info.Permissions, q.Permissions()},
		{"sr", info.Resource, q.Resource()},
		{"ss", info.Services, q.Services()},
		{"srt", info.ResourceTypes, q.ResourceTypes()},
		{"spr", info.Protocol, string(q.Protocol())},
		{"si", info.Identifier, q.Identifier()},
		{"sig", info.Signature(), q.Signature()},
	}
	for _, f := range fields {
		if f.ours != f.sdk {
			t.Errorf("%q: %s = %q, the SDK reads %q", token, f.name, f.ours, f.sdk)
		}
	}
	times := []struct {
		name      string
		ours, sdk time.Time
	}{
		{"se", info.Expiry, q.ExpiryTime()},
		{"st", info.Start, q.StartTime()},
	}
	for _, tm := range times {
		// The SDK reads four layouts; ParseSAS also takes RFC 3339 with an
		// offset, which the SDK drops to zero.
		if tm.sdk.IsZero() && !tm.ours.IsZero() {
			if _, err := time.Parse(time.RFC3339Nano, values.Get(tm.name)); err == nil {
				continue
			}
		}
		if !tm.ours.Equal(tm.sdk) {
			t.Errorf("%q: %s = %v, the SDK reads %v", token, tm.name, tm.ours, tm.sdk)
		}
	}
}

func hasUpperKey(v url.Values) bool {
	for k := range v {
		if strings.ToLower(k) != k {
			return true
		}
	}
	return false
}
