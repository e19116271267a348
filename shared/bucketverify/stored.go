package bucketverify

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// msgGiveSecret ends the messages of a request that contradicts the stored
// config whose credentials it borrows.
const msgGiveSecret = " Leave it out, or give secretKey to verify other credentials."

// StoredTarget returns the config that a request using the credentials of
// stored (the config Request.BucketID names, already checked to be of the
// request's organization) verifies: stored, with the request's bucket,
// prefix and (aws_s3, s3_compatible) region where it gives them. The
// request's storageProvider, endpoint and (Azure) accessKey must be the
// stored config's: its credentials never go to another service. Its error
// is errcode.FieldErrors keyed by the API's field names. The returned
// config holds no sealed credentials.
func StoredTarget(req verify.Request, stored *storageconfig.Config) (*storageconfig.Config, error) {
	errs := errcode.FieldErrors{}
	if req.Provider != "" && providerOf[req.Provider] != stored.Provider {
		errs.Add(FieldStorageProvider, "The storage config bucketId names is of storageProvider %q.%s", apiProvider(stored.Provider), msgGiveSecret)
	}
	if !sameEndpoint(req.Endpoint, stored) {
		errs.Add(FieldEndpoint, "Is not the endpoint of the storage config bucketId names.%s", msgGiveSecret)
	}
	if stored.Provider == storageconfig.ProviderAzureBlob && req.AccessKey != "" && req.AccessKey != stored.AzureAccountName {
		errs.Add(FieldAccessKey, "Is not the storage account of the storage config bucketId names.%s", msgGiveSecret)
	}
	c := *stored
	c.Sealed = nil
	if req.Bucket != "" {
		switch c.Provider {
		case storageconfig.ProviderGCStorage:
			c.GCStorageBucketName = req.Bucket
		case storageconfig.ProviderAzureBlob:
			c.AzureContainerName = req.Bucket
		default:
			c.S3BucketName = req.Bucket
		}
	}
	if req.Prefix != "" {
		prefix, msg := storageconfig.NormalizePrefix(req.Prefix)
		if msg != "" {
			errs.Add(FieldPrefix, "%s", msg)
		}
		switch c.Provider {
		case storageconfig.ProviderGCStorage:
			c.GCStoragePrefix = prefix
		case storageconfig.ProviderAzureBlob:
			c.AzurePrefix = prefix
		default:
			c.S3BucketPrefix = prefix
		}
	}
	if req.Region != "" && c.Provider.IsS3() {
		c.S3BucketRegion = req.Region
	}
	errs.Merge(targetProblems(&c))
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// targetProblems checks the bucket, prefix and region of c with the
// storage-configs API's rules, by parsing c's non-secret fields as a create
// request and keeping only the errors on those fields.
func targetProblems(c *storageconfig.Config) errcode.FieldErrors {
	create := map[string]any{"name": "bucket-verify", "provider": string(c.Provider)}
	switch c.Provider {
	case storageconfig.ProviderAWSS3, storageconfig.ProviderS3Compatible:
		create["s3_bucket_name"] = c.S3BucketName
		create["s3_bucket_prefix"] = c.S3BucketPrefix
		if c.S3BucketRegion != "" {
			create["s3_bucket_region"] = c.S3BucketRegion
		}
		if c.Provider == storageconfig.ProviderS3Compatible {
			create["s3_endpoint_url"] = c.S3EndpointURL
		}
	case storageconfig.ProviderGCStorage:
		create["gc_storage_bucket_name"] = c.GCStorageBucketName
		create["gc_storage_prefix"] = c.GCStoragePrefix
	case storageconfig.ProviderAzureBlob:
		create["azure_account_name"] = c.AzureAccountName
		create["azure_container_name"] = c.AzureContainerName
		create["azure_prefix"] = c.AzurePrefix
	}
	raw, err := json.Marshal(create)
	if err != nil {
		return errcode.FieldErrors{errcode.NonField: {"The storage config could not be read."}}
	}
	_, _, perr := storageconfig.ParseCreate(raw)
	var fe errcode.FieldErrors
	if !errors.As(perr, &fe) {
		return nil
	}
	out := errcode.FieldErrors{}
	for field, msgs := range fe {
		api := APIField(field)
		if !slices.Contains([]string{FieldBucket, FieldPrefix, FieldRegion}, api) {
			continue // the credentials, which the stored config has
		}
		for _, m := range msgs {
			out.Add(api, "%s", TranslateMessage(m))
		}
	}
	return out
}

// sameEndpoint reports whether endpoint is empty or names stored's.
func sameEndpoint(endpoint string, stored *storageconfig.Config) bool {
	if endpoint == "" {
		return true
	}
	switch stored.Provider {
	case storageconfig.ProviderAWSS3:
		return isAWSEndpoint(endpoint)
	case storageconfig.ProviderGCStorage:
		return isGoogleEndpoint(endpoint)
	case storageconfig.ProviderS3Compatible:
		e, msg := storageconfig.NormalizeEndpoint(endpoint, true)
		return msg == "" && e == stored.S3EndpointURL
	case storageconfig.ProviderAzureBlob:
		trim := func(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }
		return trim(endpoint) == trim(stored.AzureEndpointURL)
	}
	return false
}

// CheckAccessKey reports a request's accessKey that is not the access key
// (or HMAC access ID, or Azure account) of the stored config whose
// credentials creds are. An empty accessKey always passes. Its error is
// errcode.FieldErrors on accessKey.
func CheckAccessKey(req verify.Request, stored *storageconfig.Config, creds storageconfig.Credentials) error {
	if req.AccessKey == "" {
		return nil
	}
	have := creds.AccessKeyID
	if stored.Provider == storageconfig.ProviderAzureBlob {
		have = stored.AzureAccountName
	}
	if req.AccessKey == have {
		return nil
	}
	return errcode.FieldErrors{FieldAccessKey: {"Is not the access key of the storage config bucketId names." + msgGiveSecret}}
}
