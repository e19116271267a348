package corscheck

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// Provider names the storage provider whose CORS document a Fix is
// written in. The values are the storage-config API's provider names.
type Provider string

// The providers.
const (
	ProviderAWSS3        Provider = "aws_s3"
	ProviderS3Compatible Provider = "s3_compatible"
	ProviderGCS          Provider = "gc_storage"
	ProviderAzure        Provider = "azure_blob"
)

// Bucket names the bucket (or Azure account and container) a Fix is for.
type Bucket struct {
	Provider Provider
	// Name is the bucket's name (the container's, on Azure: CORS rules
	// are the account's, so it is not in the command).
	Name string
	// Account is the Azure storage account.
	Account string
	// Endpoint is an s3_compatible config's endpoint, for --endpoint-url.
	Endpoint string
}

// Fix is the change to a bucket's CORS rules that lets the app origins
// do what they need, in the provider's own terms.
type Fix struct {
	// Document is the whole CORS configuration to set: for S3 the JSON
	// of put-bucket-cors's --cors-configuration ({"CORSRules": [...]}),
	// for GCS the JSON list of gcloud's --cors-file. "" for Azure, whose
	// rules Command adds one at a time.
	Document string `json:"document,omitempty"`
	// Command is the command line that applies it: aws s3api
	// put-bucket-cors (with the document inline), gcloud storage buckets
	// update --cors-file=cors.json (the document saved as cors.json), or
	// az storage cors add (after az storage cors clear when an existing
	// rule changes).
	Command string `json:"command"`
	// Merged reports that applying the fix keeps the bucket's existing
	// rules: they were read and the document holds them, or (Azure) the
	// command only adds a rule. When false, Note says what to do.
	Merged bool `json:"merged"`
	// Note says what the fix does and anything to watch.
	Note string `json:"note,omitempty"`
}

// s3Rule is one CORSRule of put-bucket-cors's JSON (the AWS CLI's
// shape of the PutBucketCors API's CORSConfiguration).
type s3Rule struct {
	AllowedHeaders []string `json:"AllowedHeaders,omitempty"`
	AllowedMethods []string `json:"AllowedMethods"`
	AllowedOrigins []string `json:"AllowedOrigins"`
	ExposeHeaders  []string `json:"ExposeHeaders,omitempty"`
	MaxAgeSeconds  int      `json:"MaxAgeSeconds,omitempty"`
}

// gcsRule is one entry of a GCS bucket's cors metadata, the shape of
// gcloud storage buckets update --cors-file.
type gcsRule struct {
	Origin         []string `json:"origin"`
	Method         []string `json:"method"`
	ResponseHeader []string `json:"responseHeader,omitempty"`
	MaxAgeSeconds  int      `json:"maxAgeSeconds,omitempty"`
}

// azureMaxRules is the most CORS rules Azure keeps per service.
const azureMaxRules = 5

// NewFix writes the fix for b that gives origins every want: the rules
// Merge makes from existing (the bucket's rules, or nil with known false
// when they could not be read) in b's provider's document and command.
// When nothing is missing it returns nil.
func NewFix(b Bucket, existing []blob.CORSRule, known bool, origins []string, wants []Want) *Fix {
	if !known {
		existing = nil
	}
	merged, added, changed := Merge(existing, origins, wants)
	if !added {
		return nil
	}
	// az storage cors add keeps the rules there are, read or not.
	f := &Fix{Merged: known || (b.Provider == ProviderAzure && !changed)}
	switch b.Provider {
	case ProviderAzure:
		f.Command, f.Note = azureCommand(b, merged, changed, known)
	case ProviderGCS:
		f.Document = gcsDocument(merged)
		f.Command = "gcloud storage buckets update " + shellQuote("gs://"+b.Name) + " --cors-file=cors.json"
		f.Note = "Save the document as cors.json, then run the command. It replaces the bucket's CORS configuration"
	default:
		f.Document = s3Document(merged)
		cmd := "aws s3api put-bucket-cors --bucket " + shellQuote(b.Name)
		if b.Provider == ProviderS3Compatible && b.Endpoint != "" {
			cmd += " --endpoint-url " + shellQuote(b.Endpoint)
		}
		f.Command = cmd + " --cors-configuration " + shellQuote(f.Document)
		f.Note = "The command replaces the bucket's CORS configuration"
	}
	if b.Provider != ProviderAzure {
		if known {
			f.Note += ", and the document keeps its existing rules."
		} else {
			f.Note += ": the existing rules could not be read, so add the rule to them before running it, or they are lost."
		}
		if b.Provider == ProviderS3Compatible {
			f.Note += " Some S3-compatible servers have no bucket CORS API and answer preflights from a server-wide setting instead " +
				"(MinIO: mc admin config set ALIAS api cors_allow_origin=" + strings.Join(origins, ",") + ", with the origins it already lists)."
		}
	}
	return f
}

// s3Document is the put-bucket-cors JSON of rules.
func s3Document(rules []blob.CORSRule) string {
	doc := struct {
		CORSRules []s3Rule `json:"CORSRules"`
	}{CORSRules: make([]s3Rule, 0, len(rules))}
	for _, r := range rules {
		doc.CORSRules = append(doc.CORSRules, s3Rule{
			AllowedHeaders: r.AllowedHeaders, AllowedMethods: r.AllowedMethods, AllowedOrigins: r.AllowedOrigins,
			ExposeHeaders: r.ExposedHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
		})
	}
	return mustJSON(doc)
}

// gcsDocument is the --cors-file JSON of rules. GCS has one header list
// per entry, responseHeader, which it uses both for the preflight's
// Access-Control-Allow-Headers and for Access-Control-Expose-Headers, so
// a rule's allowed and exposed headers are joined into it.
func gcsDocument(rules []blob.CORSRule) string {
	doc := make([]gcsRule, 0, len(rules))
	for _, r := range rules {
		doc = append(doc, gcsRule{
			Origin: r.AllowedOrigins, Method: r.AllowedMethods,
			ResponseHeader: unionFold(append([]string(nil), r.AllowedHeaders...), r.ExposedHeaders...),
			MaxAgeSeconds:  r.MaxAgeSeconds,
		})
	}
	return mustJSON(doc)
}

// azureCommand is the az command line that sets rules on the account's
// Blob service: one az storage cors add for the added rule, or, when an
// existing rule changed, az storage cors clear and one add per rule.
func azureCommand(b Bucket, rules []blob.CORSRule, changed, known bool) (cmd, note string) {
	account := " --account-name " + shellQuote(b.Account)
	if !changed {
		cmd = azureAdd(account, rules[len(rules)-1])
		note = "az storage cors add appends the rule to the storage account's Blob service CORS rules (all containers share them) and keeps the others."
		if !known {
			note += " bucketlink could not read the existing rules (that needs the account key or an account SAS for the service)."
		}
		if len(rules) > azureMaxRules {
			note += fmt.Sprintf(" Azure keeps at most %d rules per service; the account already has %d, so join this rule with one of them.", azureMaxRules, len(rules)-1)
		}
		return cmd, note
	}
	parts := []string{"az storage cors clear --services b" + account}
	for _, r := range rules {
		parts = append(parts, azureAdd(account, r))
	}
	note = "A CORS rule of the storage account's Blob service (all containers share them) is extended; az cannot change a rule, " +
		"so the commands clear the rules and add them all again, the changed one included."
	return strings.Join(parts, " && "), note
}

func azureAdd(account string, r blob.CORSRule) string {
	var sb strings.Builder
	sb.WriteString("az storage cors add --services b" + account)
	sb.WriteString(" --origins " + shellJoin(r.AllowedOrigins))
	sb.WriteString(" --methods " + shellJoin(r.AllowedMethods))
	if len(r.AllowedHeaders) > 0 {
		sb.WriteString(" --allowed-headers " + shellJoin(r.AllowedHeaders))
	}
	if len(r.ExposedHeaders) > 0 {
		sb.WriteString(" --exposed-headers " + shellJoin(r.ExposedHeaders))
	}
	if r.MaxAgeSeconds > 0 {
		sb.WriteString(" --max-age " + strconv.Itoa(r.MaxAgeSeconds))
	}
	return sb.String()
}

func shellJoin(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = shellQuote(s)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and the punctuation of URLs and header names.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("corscheck: " + err.Error()) // only strings, slices and ints
	}
	return string(b)
}
