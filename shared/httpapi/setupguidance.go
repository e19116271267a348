package httpapi

import (
	"net/url"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/policy"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// The query parameters of setup-info's guidance (an addition to the
// documented answer).
const (
	paramProvider   = "provider"
	paramBucket     = "bucket"
	paramPrefix     = "prefix"
	paramAccessMode = "access_mode"
)

// setupGuidance reads setup-info's guidance parameters: with provider (and
// bucket) it returns the grant of that bucket and prefix (package policy),
// with the trust policy naming account and org's external id; without any
// of them, nil and no error (the documented answer).
func setupGuidance(q url.Values, account string, org *identity.Org) (*policy.Guidance, error) {
	if !q.Has(paramProvider) && !q.Has(paramBucket) && !q.Has(paramPrefix) && !q.Has(paramAccessMode) {
		return nil, nil
	}
	errs := errcode.FieldErrors{}
	p := storageconfig.Provider(q.Get(paramProvider))
	switch p {
	case s3.NameAWS, s3.NameCompatible, gcs.Name, azure.Name:
	case "":
		errs.Add(paramProvider, "Give the provider (aws_s3, s3_compatible, gc_storage or azure_blob) to get the grant for a bucket.")
	default:
		errs.Add(paramProvider, "Unsupported provider. Use aws_s3, s3_compatible, gc_storage or azure_blob.")
	}
	bucket := q.Get(paramBucket)
	if bucket == "" {
		errs.Add(paramBucket, "Give the bucket (the container, for azure_blob) the grant is for.")
	} else {
		for _, m := range bucketProblems(p, bucket) {
			errs.Add(paramBucket, "%s", m)
		}
	}
	prefix, msg := storageconfig.NormalizePrefix(q.Get(paramPrefix))
	if msg != "" {
		errs.Add(paramPrefix, "%s", msg)
	}
	mode, ok := policy.ParseAccessMode(q.Get(paramAccessMode))
	if !ok {
		errs.Add(paramAccessMode, "Use \"read_write\" (the default) or \"read_only\".")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	g := policy.GuidanceFor(policy.Target{
		Provider: p, Bucket: bucket, Prefix: prefix, Mode: mode,
		AWSAccountID: account, ExternalID: org.ExternalID,
	})
	return &g, nil
}

// bucketProblems checks a bucket name by the rules of provider p (nil for
// an unknown provider, which is reported on its own).
func bucketProblems(p storageconfig.Provider, name string) []string {
	switch p {
	case s3.NameAWS, s3.NameCompatible:
		return s3.BucketNameProblems(name)
	case gcs.Name:
		return gcs.BucketNameProblems(name)
	case azure.Name:
		if err := azrules.ValidateContainerName(name); err != nil {
			detail, _ := strings.CutPrefix(err.Error(), azrules.ErrBadContainerName.Error()+": ")
			return []string{"Invalid container name: " + detail + "."}
		}
	}
	return nil
}
