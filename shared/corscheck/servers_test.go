package corscheck_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minio/madmin-go/v3"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// loopback is the netguard client the checks use, allowed to reach the
// emulators on 127.0.0.1.
func loopback() *http.Client { return netguard.Policy{AllowPrivate: true}.HTTPClient() }

func checker() *corscheck.Checker {
	return &corscheck.Checker{Client: loopback(), Timeout: 5 * time.Second}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// azureTarget opens container in Azurite's account (with the account key,
// or with token) and returns the check's target for a presigned upload.
func azureTarget(t *testing.T, a *testenv.Azurite, container, token string) corscheck.Target {
	t.Helper()
	key := a.AccountKey
	if token != "" {
		key = ""
	}
	b, err := azureblob.New(azureblob.Options{
		AccountName: a.AccountName, Container: container, AccountKey: key, SASToken: token,
		Endpoint: a.Endpoint(), HTTPClient: loopback(),
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.PresignPut(ctx(t), "uploads/.bucketlink-cors-test-x", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return corscheck.TargetOf(b, corscheck.Bucket{Provider: corscheck.ProviderAzure, Name: container, Account: a.AccountName}, u)
}

// azureRules converts rules to the service's shape, for SetCORS.
func azureRules(rules []blob.CORSRule) []*service.CORSRule {
	var out []*service.CORSRule
	for _, r := range rules {
		out = append(out, &service.CORSRule{
			AllowedOrigins: to.Ptr(strings.Join(r.AllowedOrigins, ",")), AllowedMethods: to.Ptr(strings.Join(r.AllowedMethods, ",")),
			AllowedHeaders: to.Ptr(strings.Join(r.AllowedHeaders, ",")), ExposedHeaders: to.Ptr(strings.Join(r.ExposedHeaders, ",")),
			MaxAgeInSeconds: to.Ptr(int32(r.MaxAgeSeconds)),
		})
	}
	return out
}

// TestAzurite sends the preflights to Azurite, whose Blob service CORS
// rules (Set Blob Service Properties) answer them as Azure's do, with the
// rules read through the driver (account key) and, with a container SAS
// that cannot read them, refined by narrower preflights; and applies each
// fix's merged rules to the account to prove they let the origin through.
func TestAzurite(t *testing.T) {
	a := testenv.SharedAzurite(t)
	c := testenv.ContainerName(t, "cors")
	a.CreateContainer(t, c)
	defer a.SetCORS(t, nil) // the rules are the shared account's
	sas := a.SASToken(t, c, "racwdl", time.Now().Add(time.Hour))

	other := &service.CORSRule{AllowedOrigins: to.Ptr("https://other.example"), AllowedMethods: to.Ptr("GET,PUT"),
		AllowedHeaders: to.Ptr("*"), ExposedHeaders: to.Ptr(""), MaxAgeInSeconds: to.Ptr(int32(60))}
	rule := func(methods, headers string) *service.CORSRule {
		return &service.CORSRule{AllowedOrigins: to.Ptr(appOrigin), AllowedMethods: to.Ptr(methods),
			AllowedHeaders: to.Ptr(headers), ExposedHeaders: to.Ptr(""), MaxAgeInSeconds: to.Ptr(int32(60))}
	}
	tests := []struct {
		name       string
		rules      []*service.CORSRule
		want       corscheck.Code
		wantHeader string
	}{
		{name: "origin allowed", rules: []*service.CORSRule{other, rule("GET,PUT", "content-type,x-ms-blob-type")}},
		{name: "origin allowed with wildcard headers", rules: []*service.CORSRule{rule("GET,PUT", "*")}},
		{name: "no rules", want: corscheck.CodeOriginNotAllowed},
		{name: "another origin", rules: []*service.CORSRule{other}, want: corscheck.CodeOriginNotAllowed},
		{name: "without PUT", rules: []*service.CORSRule{other, rule("GET,HEAD", "*")}, want: corscheck.CodeMethodNotAllowed},
		{name: "without x-ms-blob-type", rules: []*service.CORSRule{rule("GET,PUT", "content-type")}, want: corscheck.CodeHeaderNotAllowed, wantHeader: "x-ms-blob-type"},
	}
	for _, tt := range tests {
		for _, cred := range []string{"account key", "container SAS"} {
			t.Run(tt.name+"/"+cred, func(t *testing.T) {
				token := ""
				if cred == "container SAS" {
					token = sas
				}
				a.SetCORS(t, tt.rules)
				target := azureTarget(t, a, c, token)
				rep := checker().Check(ctx(t), target, []string{appOrigin})
				if rep.RulesRead != (token == "") {
					t.Errorf("RulesRead = %v (%s)", rep.RulesRead, rep.RulesNote)
				}
				or := rep.Origins[0]
				if rep.Code != tt.want || or.Code != tt.want || or.Upload.Header != tt.wantHeader {
					t.Fatalf("Check = %s %+v\nwant %q (header %q)", rep.Code, or, tt.want, tt.wantHeader)
				}
				if tt.want == "" {
					if rep.Fix != nil || !or.Upload.Allowed || !or.Read.Allowed {
						t.Fatalf("passing check = %+v", rep)
					}
					return
				}
				if rep.Fix == nil || !strings.Contains(rep.Fix.Command, "az storage cors add --services b --account-name "+a.AccountName) {
					t.Fatalf("fix = %+v", rep.Fix)
				}
				t.Logf("%s\nfix: %s\n%s", or.Message, rep.Fix.Command, rep.Fix.Note)
				if !strings.Contains(or.Message, appOrigin) {
					t.Errorf("message %q does not name the origin", or.Message)
				}
				// Apply the fix: the existing rules with the merged ones.
				existing := rep.Rules
				if !rep.RulesRead {
					existing = nil
				}
				merged, _, changed := corscheck.Merge(existing, []string{appOrigin}, corscheck.Wants(target.UploadHeaders))
				if !rep.RulesRead && !changed { // az storage cors add appends to what is there
					merged = append(readRules(t, a, c), merged...)
				}
				a.SetCORS(t, azureRules(merged))
				if rep := checker().Check(ctx(t), target, []string{appOrigin}); !rep.Passed() {
					t.Fatalf("after the fix: %s %s", rep.Code, rep.Message)
				}
			})
		}
	}
}

// readRules reads the account's rules with the account key.
func readRules(t *testing.T, a *testenv.Azurite, container string) []blob.CORSRule {
	t.Helper()
	b, err := azureblob.New(azureblob.Options{AccountName: a.AccountName, Container: container, AccountKey: a.AccountKey, Endpoint: a.Endpoint(), HTTPClient: loopback()})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := b.CORS(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// minioAdmin is an admin client of m, as its root user.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func minioAdmin(t *testing.T, m *testenv.MinIO) *madmin.AdminClient {
	t.Helper()
	u, err := url.Parse(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := madmin.NewWithOptions(u.Host, &madmin.Options{Creds: miniocreds.NewStaticV4(m.RootUser, m.RootPassword, "")})
	if err != nil {
		t.Fatal(err)
	}
	return adm
}

// TestMinIO runs the check against MinIO. MinIO (the pinned release, as
// its source shows) has no bucket CORS: PutBucketCors answers
// NotImplemented and GetBucketCors NoSuchCORSConfiguration; preflights
// are answered server-wide from the api cors_allow_origin setting
// (default "*"), echoing the origin, the requested method and headers.
// So the check passes by default, and with the setting naming another
// origin the preflights get no CORS headers and the origin is refused.
func TestMinIO(t *testing.T) {
	m := testenv.StartMinIO(t) // its server-wide setting changes
	bucket := testenv.BucketName(t, "cors")
	m.CreateBucket(t, bucket)
	target := corscheck.Target{
		Bucket:    corscheck.Bucket{Provider: corscheck.ProviderS3Compatible, Name: bucket, Endpoint: m.Endpoint},
		UploadURL: m.Endpoint + "/" + bucket + "/uploads/.bucketlink-cors-test-x?X-Amz-Signature=abc",
	}
	adm := minioAdmin(t, m)
	set := func(origins string) {
		t.Helper()
		if _, err := adm.SetConfigKV(ctx(t), "api cors_allow_origin="+origins); err != nil {
			t.Fatalf("set api cors_allow_origin: %v", err)
		}
	}

	t.Run("no bucket CORS API", func(t *testing.T) {
		s3c := s3.New(s3.Options{
			Region: m.Region, BaseEndpoint: aws.String(m.Endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(m.RootUser, m.RootPassword, ""),
		})
		_, err := s3c.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: aws.String(bucket)})
		if code := apiCode(err); code != "NoSuchCORSConfiguration" {
			t.Errorf("GetBucketCors: %v, want NoSuchCORSConfiguration", err)
		}
		_, err = s3c.PutBucketCors(ctx(t), &s3.PutBucketCorsInput{Bucket: aws.String(bucket), CORSConfiguration: &s3types.CORSConfiguration{
			CORSRules: []s3types.CORSRule{{AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"PUT"}}},
		}})
		if code := apiCode(err); code != "NotImplemented" {
			t.Errorf("PutBucketCors: %v, want NotImplemented", err)
		}
	})
	t.Run("default allows every origin", func(t *testing.T) {
		rep := checker().Check(ctx(t), target, []string{appOrigin, "http://localhost:5173"})
		if !rep.Passed() {
			t.Fatalf("Check = %s: %s", rep.Code, rep.Message)
		}
	})
	t.Run("another origin", func(t *testing.T) {
		set("https://other.example")
		defer set("*")
		rep := checker().Check(ctx(t), target, []string{appOrigin, "https://other.example"})
		if rep.Code != corscheck.CodeOriginNotAllowed || rep.Origins[0].Code != corscheck.CodeOriginNotAllowed || rep.Origins[1].Code != "" {
			t.Fatalf("Check = %s %+v", rep.Code, rep.Origins)
		}
		if rep.Fix == nil || !strings.Contains(rep.Fix.Note, "cors_allow_origin="+appOrigin) || !strings.Contains(rep.Fix.Command, "--endpoint-url "+m.Endpoint) {
			t.Fatalf("fix = %+v", rep.Fix)
		}
		if strings.Contains(rep.Fix.Document, "other.example") {
			t.Errorf("fix %s adds the origin that passed", rep.Fix.Document)
		}
	})
	t.Run("the origin named", func(t *testing.T) {
		set("https://other.example," + appOrigin)
		defer set("*")
		if rep := checker().Check(ctx(t), target, []string{appOrigin}); !rep.Passed() {
			t.Fatalf("Check = %s: %s", rep.Code, rep.Message)
		}
	})
}

// TestFakeGCS records what fake-gcs-server does with preflights: it has
// no bucket CORS configuration and answers them server-wide (gorilla's
// CORS handler: any origin, GET/PUT among its methods, Content-Type among
// its headers), so the check passes for any origin, and a header outside
// its list is refused.
func TestFakeGCS(t *testing.T) {
	g := testenv.SharedFakeGCS(t)
	bucket := testenv.BucketName(t, "cors")
	g.CreateBucket(t, bucket)
	target := corscheck.Target{
		Bucket:    corscheck.Bucket{Provider: corscheck.ProviderGCS, Name: bucket},
		UploadURL: g.Endpoint + "/" + bucket + "/uploads/.bucketlink-cors-test-x",
	}
	rep := checker().Check(ctx(t), target, []string{appOrigin})
	if !rep.Passed() {
		t.Fatalf("Check = %s: %s", rep.Code, rep.Message)
	}
	target.UploadHeaders = map[string]string{"x-goog-meta-a": "1"}
	rep = checker().Check(ctx(t), target, []string{appOrigin})
	if rep.Code != corscheck.CodeHeaderNotAllowed || rep.Origins[0].Upload.Header != "x-goog-meta-a" {
		t.Fatalf("Check with x-goog-meta-a = %s %+v", rep.Code, rep.Origins[0])
	}
	if rep.Fix == nil || !strings.Contains(rep.Fix.Command, "gcloud storage buckets update gs://"+bucket) {
		t.Fatalf("fix = %+v", rep.Fix)
	}
}
