package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// checkResult is the API's result of a verification: the body of
// POST /api/v1/storage-configs/{uid}/test/.
type checkResult struct {
	Verified bool                 `json:"verified"`
	Errors   errcode.FieldErrors  `json:"errors,omitempty"`
	Checks   []verification.Check `json:"checks"`
}

// verifyFixes names, for each request field, the flag or variable of
// `bucketlink verify` that sets it: where a fix goes.
var verifyFixes = map[string]string{
	"name":                         "--name",
	"provider":                     "--provider",
	"s3_bucket_name":               "--bucket",
	"gc_storage_bucket_name":       "--bucket",
	"azure_container_name":         "--bucket",
	"s3_bucket_prefix":             "--prefix",
	"gc_storage_prefix":            "--prefix",
	"azure_prefix":                 "--prefix",
	"s3_bucket_region":             "--region",
	"s3_endpoint_url":              "--endpoint",
	"azure_endpoint_url":           "--endpoint",
	"s3_auth_method":               "--auth-method",
	"gc_storage_auth_method":       "--auth-method",
	"s3_role_arn":                  "--role-arn",
	"s3_use_path_style":            "--path-style",
	"s3_is_accelerated":            "--accelerated",
	"s3_cloudfront_domain":         "--cloudfront-domain",
	"s3_cloudfront_public_key_id":  "--cloudfront-public-key-id",
	"azure_account_name":           "--account or AZURE_STORAGE_ACCOUNT",
	"s3_access_key_id":             envAWSAccessKeyID,
	"s3_secret_access_key":         envAWSSecretAccessKey + " or --secret-file",
	"gc_storage_auth_json_content": "--credentials-file or " + envGoogleCredentials,
	"gc_storage_hmac_access_id":    envGCSHMACAccessID,
	"gc_storage_hmac_secret":       envGCSHMACSecret + " or --secret-file",
	"azure_account_key":            envAzureKey + " or --secret-file",
	"azure_sas_token":              envAzureSAS + " or --secret-file --auth-method sas",
}

// printResult writes res: the API's JSON shape, or a table of the checks
// followed by what to fix, on the flags of fixes (nil: the API's field
// names only).
func printResult(w io.Writer, asJSON bool, res checkResult, fixes map[string]string) error {
	if asJSON {
		return writeJSONLine(w, res)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tCODE\tMESSAGE")
	failed := 0
	for _, c := range res.Checks {
		result := "passed"
		switch {
		case c.Code == verify.CodeSkipped:
			result = "skipped"
		case !c.OK:
			result, failed = "FAILED", failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, result, c.Code, c.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if res.Verified {
		_, err := fmt.Fprintf(w, "Verified: all %d checks passed.\n", len(res.Checks))
		return err
	}
	if len(res.Errors) > 0 {
		fmt.Fprintln(w, "What to fix:")
		printFixes(w, res.Errors, fixes)
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "Not verified: %d of %d checks failed.\n", failed, len(res.Checks))
	return err
}

// printFixes writes each field error with the field, and where it is set
// (fixes), in the field's order.
func printFixes(w io.Writer, fe errcode.FieldErrors, fixes map[string]string) {
	for _, field := range slices.Sorted(maps.Keys(fe)) {
		where := field
		if field == errcode.NonField {
			where = "the configuration as a whole"
		} else if f, ok := fixes[field]; ok {
			where = field + " (set by " + f + ")"
		}
		for _, msg := range fe[field] {
			fmt.Fprintf(w, "  %s: %s\n", where, msg)
		}
	}
}

// unreachableCodes are the codes of a provider that did not answer, or of
// an STS that could not be asked: the checks could not really run.
var unreachableCodes = map[string]bool{verify.CodeEndpointUnreachable: true, verify.CodeSTSUnavailable: true}

// resultExit is the exit of a verification: nil when every check passed;
// exit 2 when no check could reach the provider; else exit 1.
func resultExit(res checkResult) error {
	if res.Verified {
		return nil
	}
	var failed []string
	unreachable := true
	for _, c := range res.Checks {
		if !c.OK && c.Code != verify.CodeSkipped {
			failed = append(failed, c.Name+"="+c.Code)
			unreachable = unreachable && unreachableCodes[c.Code]
		}
	}
	if unreachable && len(failed) > 0 {
		return cannotRun(fmt.Errorf("the provider could not be reached from this machine (%s): check the network, the endpoint and the region", strings.Join(failed, ", ")))
	}
	return checksFailed(fmt.Errorf("not verified: %s", strings.Join(failed, ", ")))
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
