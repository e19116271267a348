package azureblob

import (
	"context"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// ErrCORSNeedsAccountKey is the cause of CORS's AccessDenied error on a
// Bucket opened with a SAS token that is not an account SAS for the
// service level (srt=s): Azure keeps CORS rules in the account's Blob
// service properties, which such a token cannot read.
var ErrCORSNeedsAccountKey = errors.New("azureblob: reading CORS rules needs the account key or an account SAS for the service level; this SAS token cannot read the Blob service properties")

// CORS implements blob.CORSReader. Azure's CORS rules belong to the
// account's Blob service, not to a container, so they are read with Get
// Blob Service Properties, which needs the account key or an account SAS
// with the service resource type (srt=s) and read. On a Bucket opened with
// another SAS token it does no I/O and returns an AccessDenied error
// wrapping ErrCORSNeedsAccountKey.
func (b *Bucket) CORS(ctx context.Context) ([]blob.CORSRule, error) {
	if b.svc == nil {
		return nil, &blob.Error{Code: blob.AccessDenied, Op: "cors", Err: ErrCORSNeedsAccountKey}
	}
	props, err := b.svc.GetProperties(ctx, nil)
	if err != nil {
		return nil, b.wrap("cors", err)
	}
	return corsRules(props.CORS), nil
}

// corsRules converts the service's rules, whose lists are comma-separated
// strings, to the provider-neutral shape. No rules give an empty slice.
func corsRules(in []*service.CORSRule) []blob.CORSRule {
	out := make([]blob.CORSRule, 0, len(in))
	for _, r := range in {
		if r == nil {
			continue
		}
		rule := blob.CORSRule{
			AllowedOrigins: splitList(r.AllowedOrigins),
			AllowedMethods: splitList(r.AllowedMethods),
			AllowedHeaders: splitList(r.AllowedHeaders),
			ExposedHeaders: splitList(r.ExposedHeaders),
		}
		if r.MaxAgeInSeconds != nil {
			rule.MaxAgeSeconds = int(*r.MaxAgeInSeconds)
		}
		out = append(out, rule)
	}
	return out
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items; nil or empty gives nil.
func splitList(s *string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range strings.Split(*s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
