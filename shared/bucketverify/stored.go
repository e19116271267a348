package bucketverify

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// msgGiveSecret ends the messages of a request that contradicts the stored
// config whose credentials it borrows.
const msgGiveSecret = " Leave it out, or give secretKey to verify other credentials."

// msgAdminMay ends the messages of a request that would take a stored
// config's credentials beyond the config, from a role that may not.
const msgAdminMay = " Only an admin (a role that may edit the config) may verify its stored credentials there; leave it out, or give secretKey to verify other credentials."

// Reach is how far a request on a stored config's credentials may take
// them: the role of its caller decides (see Parsed.Scope).
type Reach int

const (
	// ReachStored is the config as stored, or a prefix inside the
	// config's: what any role that may verify (member) gets.
	ReachStored Reach = iota
	// ReachReplace also lets the request replace the config's bucket,
	// region, prefix and (s3_compatible) endpoint: the "verify before
	// update" of a role that may edit the config (admin).
	ReachReplace
)

// StoredTarget returns the config that a request using the credentials of
// stored (the config Request.BucketID names, already checked to be of the
// request's organization) verifies: stored, with the request's bucket,
// prefix, (aws_s3, s3_compatible) region and (s3_compatible) endpoint
// where reach lets it give them. With ReachStored, a bucket, region or
// endpoint that is not the config's, or a prefix outside the config's, is
// an error on that field that says an admin may; with ReachReplace they
// replace the config's. Whatever the reach, the request's storageProvider
// and (Azure) accessKey must be the stored config's, and only an
// s3_compatible config's endpoint can be replaced: SigV4 signs the host,
// so the stored secret yields nothing that works elsewhere, whereas an
// Azure SAS token travels whole and a Shared Key signature does not name
// the host. Its error is errcode.FieldErrors keyed by the API's field
// names. The returned config holds no sealed credentials.
func StoredTarget(req verification.Request, stored *storageconfig.Config, reach Reach) (*storageconfig.Config, error) {
	errs := errcode.FieldErrors{}
	if req.Provider != "" && providerOf[req.Provider] != stored.Provider {
		errs.Add(FieldStorageProvider, "The storage config bucketId names is of storageProvider %q.%s", apiProvider(stored.Provider), msgGiveSecret)
	}
	if stored.Provider == storageconfig.ProviderAzureBlob && req.AccessKey != "" && req.AccessKey != stored.AzureAccountName {
		errs.Add(FieldAccessKey, "Is not the storage account of the storage config bucketId names.%s", msgGiveSecret)
	}
	moved := map[string]bool{}
	for _, f := range Beyond(req, stored) {
		moved[f] = true
		if reach == ReachStored {
			errs.Add(f, "%s", beyondMessage(f, stored))
		}
	}
	c := *stored
	c.Sealed = nil
	if moved[FieldEndpoint] && reach == ReachReplace {
		endpoint, msg := storageconfig.NormalizeEndpoint(req.Endpoint, true)
		switch {
		case stored.Provider != storageconfig.ProviderS3Compatible:
			errs.Add(FieldEndpoint, "Is not the endpoint of the storage config bucketId names.%s", msgGiveSecret)
		case msg != "":
			errs.Add(FieldEndpoint, "%s", TranslateMessage(msg))
		}
		c.S3EndpointURL = endpoint
	}
	if moved[FieldBucket] {
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
	if moved[FieldRegion] {
		c.S3BucketRegion = req.Region
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if err := targetProblems(&c).Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Beyond lists the API fields of req, a request on the credentials of
// stored, that take them beyond the config as stored: a bucket, an
// (aws_s3, s3_compatible) region or an endpoint that are not the
// config's, and a prefix outside the config's. Fields left out or empty
// are the config's.
func Beyond(req verification.Request, stored *storageconfig.Config) []string {
	var out []string
	if req.Bucket != "" && req.Bucket != stored.Bucket() {
		out = append(out, FieldBucket)
	}
	if !sameEndpoint(req.Endpoint, stored) {
		out = append(out, FieldEndpoint)
	}
	if req.Region != "" && stored.Provider.IsS3() && req.Region != stored.S3BucketRegion {
		out = append(out, FieldRegion)
	}
	if prefix, msg := storageconfig.NormalizePrefix(req.Prefix); req.Prefix != "" && msg == "" && !strings.HasPrefix(prefix, stored.Prefix()) {
		out = append(out, FieldPrefix)
	}
	return out
}

// beyondMessage says that field of a request takes stored's credentials
// beyond the config, and who may.
func beyondMessage(field string, stored *storageconfig.Config) string {
	switch field {
	case FieldBucket:
		return "Is not the bucket of the storage config bucketId names." + msgAdminMay
	case FieldRegion:
		return "Is not the region of the storage config bucketId names." + msgAdminMay
	case FieldPrefix:
		own := stored.Prefix()
		return "Must lie inside the storage config's prefix \"" + own + "\" (for example \"" + own + "train/\"), or be \"\" for the config's prefix." + msgAdminMay
	}
	if stored.Provider != storageconfig.ProviderS3Compatible {
		// Not even an admin: see StoredTarget.
		return "Is not the endpoint of the storage config bucketId names." + msgGiveSecret
	}
	return "Is not the endpoint of the storage config bucketId names." + msgAdminMay
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
		if !slices.Contains([]string{FieldBucket, FieldPrefix, FieldRegion, FieldEndpoint}, api) {
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
func CheckAccessKey(req verification.Request, stored *storageconfig.Config, creds storageconfig.Credentials) error {
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
