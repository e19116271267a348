package corscheck_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	storagev1 "google.golang.org/api/storage/v1"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
)

// args runs command in a POSIX shell in which the CLI it calls (aws,
// gcloud, az) only prints its arguments, and returns each call's
// arguments: the test that the command is quoted so a shell hands the
// CLI the document and lists intact.
func args(t *testing.T, command string) [][]string {
	t.Helper()
	script := `out() { printf '%s\0' "$@"; printf '\n\0'; }; aws() { out aws "$@"; }; gcloud() { out gcloud "$@"; }; az() { out az "$@"; }; ` + command
	raw, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", command, err)
	}
	var calls [][]string
	var cur []string
	for _, a := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		if a == "\n" {
			calls, cur = append(calls, cur), nil
			continue
		}
		cur = append(cur, a)
	}
	return calls
}

func decodeStrict(t *testing.T, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
}

var (
	existing = []blob.CORSRule{{
		AllowedOrigins: []string{"https://other.example"}, AllowedMethods: []string{"GET"},
		AllowedHeaders: []string{"Authorization"}, ExposedHeaders: []string{"x-amz-request-id"}, MaxAgeSeconds: 60,
	}}
	s3Wants  = corscheck.Wants(nil)
	azWants  = corscheck.Wants(map[string]string{"x-ms-blob-type": "BlockBlob"})
	s3Bucket = corscheck.Bucket{Provider: corscheck.ProviderAWSS3, Name: "my-bucket"}
)

// TestFixS3 checks the put-bucket-cors document against the SDK's own
// CORSConfiguration type (the AWS CLI's JSON has its field names), and
// the command line through a shell.
func TestFixS3(t *testing.T) {
	f := corscheck.NewFix(s3Bucket, existing, true, []string{appOrigin}, s3Wants)
	if f == nil || !f.Merged {
		t.Fatalf("NewFix = %+v, want a merged fix", f)
	}
	var cfg s3types.CORSConfiguration
	decodeStrict(t, f.Document, &cfg)
	want := []s3types.CORSRule{
		{AllowedOrigins: []string{"https://other.example"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"Authorization"}, ExposeHeaders: []string{"x-amz-request-id"}, MaxAgeSeconds: ptr(int32(60))},
		{AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"content-type"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: ptr(int32(3600))},
	}
	if !reflect.DeepEqual(cfg.CORSRules, want) {
		t.Errorf("document %s\ndecodes to %+v\nwant %+v", f.Document, cfg.CORSRules, want)
	}
	calls := args(t, f.Command)
	wantArgs := []string{"aws", "s3api", "put-bucket-cors", "--bucket", "my-bucket", "--cors-configuration", f.Document}
	if len(calls) != 1 || !reflect.DeepEqual(calls[0], wantArgs) {
		t.Errorf("command %s\nruns %q, want %q", f.Command, calls, wantArgs)
	}

	// Unknown rules: only the new one, and a note that says so.
	f = corscheck.NewFix(s3Bucket, nil, false, []string{appOrigin}, s3Wants)
	decodeStrict(t, f.Document, &cfg)
	if f.Merged || len(cfg.CORSRules) != 1 || !strings.Contains(f.Note, "could not be read") {
		t.Errorf("fix without the rules = %+v", f)
	}

	// S3-compatible: the endpoint, and the server-wide hint.
	f = corscheck.NewFix(corscheck.Bucket{Provider: corscheck.ProviderS3Compatible, Name: "b", Endpoint: "https://s3.example.net:9000"}, nil, true, []string{appOrigin}, s3Wants)
	calls = args(t, f.Command)
	if len(calls) != 1 || !reflect.DeepEqual(calls[0][:7], []string{"aws", "s3api", "put-bucket-cors", "--bucket", "b", "--endpoint-url", "https://s3.example.net:9000"}) {
		t.Errorf("s3_compatible command runs %q", calls)
	}
	if !strings.Contains(f.Note, "cors_allow_origin="+appOrigin) {
		t.Errorf("s3_compatible note %q does not name MinIO's setting", f.Note)
	}

	// Nothing missing: no fix.
	if f := corscheck.NewFix(s3Bucket, []blob.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}}}, true, []string{appOrigin}, s3Wants); f != nil {
		t.Errorf("NewFix with rules that serve = %+v, want nil", f)
	}
}

// TestFixGCS checks the --cors-file document against the JSON API's own
// BucketCors type.
func TestFixGCS(t *testing.T) {
	f := corscheck.NewFix(corscheck.Bucket{Provider: corscheck.ProviderGCS, Name: "my-bucket"}, existing, true, []string{appOrigin}, s3Wants)
	var doc []*storagev1.BucketCors
	decodeStrict(t, f.Document, &doc)
	want := []*storagev1.BucketCors{
		{Origin: []string{"https://other.example"}, Method: []string{"GET"}, ResponseHeader: []string{"Authorization", "x-amz-request-id"}, MaxAgeSeconds: 60},
		{Origin: []string{appOrigin}, Method: []string{"GET", "PUT"}, ResponseHeader: []string{"content-type", "ETag"}, MaxAgeSeconds: 3600},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("document %s, want %+v", f.Document, want)
	}
	if calls := args(t, f.Command); len(calls) != 1 || !reflect.DeepEqual(calls[0], []string{"gcloud", "storage", "buckets", "update", "gs://my-bucket", "--cors-file=cors.json"}) {
		t.Errorf("command runs %q", calls)
	}
	if !f.Merged || !strings.Contains(f.Note, "cors.json") {
		t.Errorf("fix = %+v", f)
	}
}

func TestFixAzure(t *testing.T) {
	b := corscheck.Bucket{Provider: corscheck.ProviderAzure, Name: "data", Account: "myacct"}
	addNew := []string{"az", "storage", "cors", "add", "--services", "b", "--account-name", "myacct",
		"--origins", appOrigin, "--methods", "GET", "PUT", "--allowed-headers", "content-type", "x-ms-blob-type",
		"--exposed-headers", "ETag", "--max-age", "3600"}

	t.Run("append", func(t *testing.T) {
		f := corscheck.NewFix(b, existing, true, []string{appOrigin}, azWants)
		if calls := args(t, f.Command); len(calls) != 1 || !reflect.DeepEqual(calls[0], addNew) {
			t.Errorf("command %s\nruns %q\nwant %q", f.Command, calls, addNew)
		}
		if f.Document != "" || !f.Merged {
			t.Errorf("fix = %+v", f)
		}
	})
	t.Run("unknown rules still kept by add", func(t *testing.T) {
		f := corscheck.NewFix(b, nil, false, []string{appOrigin}, azWants)
		if calls := args(t, f.Command); len(calls) != 1 || !reflect.DeepEqual(calls[0], addNew) || !f.Merged {
			t.Errorf("fix %+v runs %q", f, calls)
		}
	})
	t.Run("changed rule: clear and add all", func(t *testing.T) {
		rules := []blob.CORSRule{existing[0], {AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*"}}}
		f := corscheck.NewFix(b, rules, true, []string{appOrigin}, azWants)
		calls := args(t, f.Command)
		want := [][]string{
			{"az", "storage", "cors", "clear", "--services", "b", "--account-name", "myacct"},
			{"az", "storage", "cors", "add", "--services", "b", "--account-name", "myacct", "--origins", "https://other.example", "--methods", "GET",
				"--allowed-headers", "Authorization", "--exposed-headers", "x-amz-request-id", "--max-age", "60"},
			{"az", "storage", "cors", "add", "--services", "b", "--account-name", "myacct", "--origins", appOrigin, "--methods", "GET", "PUT",
				"--allowed-headers", "*", "--exposed-headers", "ETag", "--max-age", "3600"},
		}
		if !reflect.DeepEqual(calls, want) {
			t.Errorf("command %s\nruns %q\nwant %q", f.Command, calls, want)
		}
	})
	t.Run("rule limit", func(t *testing.T) {
		five := []blob.CORSRule{existing[0], existing[0], existing[0], existing[0], existing[0]}
		f := corscheck.NewFix(b, five, true, []string{appOrigin}, azWants)
		if !strings.Contains(f.Note, "at most 5") {
			t.Errorf("note %q does not warn of Azure's five-rule limit", f.Note)
		}
	})
}

func TestShellQuoting(t *testing.T) {
	// A rule read from the bucket may hold anything; the command must
	// hand it to the CLI unchanged.
	odd := []blob.CORSRule{{AllowedOrigins: []string{"https://o'; rm -rf ~; echo '"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"$(id)", "`id`"}}}
	f := corscheck.NewFix(s3Bucket, odd, true, []string{appOrigin}, s3Wants)
	calls := args(t, f.Command)
	if len(calls) != 1 || calls[0][len(calls[0])-1] != f.Document {
		t.Fatalf("command %s runs %q", f.Command, calls)
	}
	var cfg s3types.CORSConfiguration
	decodeStrict(t, calls[0][len(calls[0])-1], &cfg)
	if !bytes.Contains([]byte(f.Document), []byte("rm -rf")) || cfg.CORSRules[0].AllowedHeaders[0] != "$(id)" {
		t.Errorf("document %s", f.Document)
	}
}

func ptr[T any](v T) *T { return &v }
