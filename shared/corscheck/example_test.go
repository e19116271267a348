package corscheck_test

import (
	"fmt"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/corscheck"
)

func ExampleJudge() {
	p := corscheck.Preflight{URL: "https://acct.blob.core.windows.net/data/k", Origin: "https://app.example.com",
		Method: "PUT", Headers: []string{"Content-Type", "x-ms-blob-type"}}
	h := http.Header{}
	h.Set("Access-Control-Allow-Origin", "https://app.example.com")
	h.Set("Access-Control-Allow-Methods", "GET,PUT")
	h.Set("Access-Control-Allow-Headers", "content-type")
	a := corscheck.Judge(p, http.StatusOK, h)
	fmt.Println(a.Code, a.Header)
	// Output: cors_header_not_allowed x-ms-blob-type
}

func ExampleNewFix() {
	existing := []blob.CORSRule{{AllowedOrigins: []string{"https://old.example.com"}, AllowedMethods: []string{"GET"}}}
	f := corscheck.NewFix(corscheck.Bucket{Provider: corscheck.ProviderAWSS3, Name: "my-bucket"},
		existing, true, []string{"https://app.example.com"}, corscheck.Wants(nil))
	fmt.Println(f.Command)
	// Output: aws s3api put-bucket-cors --bucket my-bucket --cors-configuration '{"CORSRules":[{"AllowedMethods":["GET"],"AllowedOrigins":["https://old.example.com"]},{"AllowedHeaders":["content-type"],"AllowedMethods":["GET","PUT"],"AllowedOrigins":["https://app.example.com"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":3600}]}'
}
