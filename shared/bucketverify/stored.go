package bucketverify

import (
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
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
	bv := provider.BucketVerifyOf(string(stored.Provider))
	if bv == nil {
		errs.Add(FieldBucketID, "The storage config bucketId names is of a provider this API does not serve.%s", msgGiveSecret)
		return nil, errs
	}
	if req.Provider != "" && providerOf(req.Provider) != stored.Provider {
		errs.Add(FieldStorageProvider, "The storage config bucketId names is of storageProvider %q.%s", apiProvider(stored.Provider), msgGiveSecret)
	}
	if bv.CheckAccount && req.AccessKey != "" && req.AccessKey != bv.AccessKey(stored.Settings, nil) {
		errs.Add(FieldAccessKey, "Is not the storage account of the storage config bucketId names.%s", msgGiveSecret)
	}
	moved := map[string]bool{}
	for _, f := range Beyond(req, stored) {
		moved[f] = true
		if reach == ReachStored {
			errs.Add(f, "%s", beyondMessage(f, stored))
		}
	}
	// The target's fields: the stored config's, with those the request
	// may replace, checked with the storage-configs API's rules.
	fields := stored.Settings.Wire()
	fieldOf := map[string]string{}
	for f, api := range bv.Fields {
		fieldOf[api] = f
	}
	if moved[FieldEndpoint] && reach == ReachReplace {
		if !bv.EndpointReplaceable {
			errs.Add(FieldEndpoint, "Is not the endpoint of the storage config bucketId names.%s", msgGiveSecret)
		}
		if f := fieldOf[FieldEndpoint]; f != "" {
			fields[f] = req.Endpoint
		}
	}
	if moved[FieldBucket] {
		fields[fieldOf[FieldBucket]] = req.Bucket
	}
	if req.Prefix != "" {
		prefix, msg := contract.NormalizePrefix(req.Prefix)
		if msg != "" {
			errs.Add(FieldPrefix, "%s", msg)
		}
		fields[fieldOf[FieldPrefix]] = prefix
	}
	if f := fieldOf[FieldRegion]; moved[FieldRegion] && f != "" {
		fields[f] = req.Region
	}
	settings, _, fe := storageconfig.ParseSettings(stored.Provider, fields)
	endpointField := fieldOf[FieldEndpoint]
	if moved[FieldEndpoint] && reach == ReachReplace && bv.EndpointReplaceable {
		for _, m := range fe[endpointField] {
			errs.Add(FieldEndpoint, "%s", TranslateMessage(m))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	for field, msgs := range fe {
		api := APIField(field)
		if field == endpointField || !slices.Contains([]string{FieldBucket, FieldPrefix, FieldRegion, FieldEndpoint}, api) {
			continue // the credentials, which the stored config has
		}
		for _, m := range msgs {
			errs.Add(api, "%s", TranslateMessage(m))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	c := *stored
	c.Sealed = nil
	c.Settings = settings
	return &c, nil
}

// Beyond lists the API fields of req, a request on the credentials of
// stored, that take them beyond the config as stored: a bucket, a region
// (where the provider has one) or an endpoint that are not the config's,
// and a prefix outside the config's. Fields left out or empty are the
// config's.
func Beyond(req verification.Request, stored *storageconfig.Config) []string {
	bv := provider.BucketVerifyOf(string(stored.Provider))
	if bv == nil {
		return nil
	}
	var out []string
	if req.Bucket != "" && req.Bucket != stored.Bucket() {
		out = append(out, FieldBucket)
	}
	if !bv.SameEndpoint(stored.Settings, req.Endpoint) {
		out = append(out, FieldEndpoint)
	}
	if req.Region != "" && bv.HasRegion && req.Region != stored.Settings.Wire()[regionField(bv)] {
		out = append(out, FieldRegion)
	}
	if prefix, msg := contract.NormalizePrefix(req.Prefix); req.Prefix != "" && msg == "" && !strings.HasPrefix(prefix, stored.Prefix()) {
		out = append(out, FieldPrefix)
	}
	return out
}

// regionField is the provider field bv maps to region.
func regionField(bv *contract.BucketVerify) string {
	for f, api := range bv.Fields {
		if api == FieldRegion {
			return f
		}
	}
	return ""
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
	if bv := provider.BucketVerifyOf(string(stored.Provider)); bv == nil || !bv.EndpointReplaceable {
		// Not even an admin: see StoredTarget.
		return "Is not the endpoint of the storage config bucketId names." + msgGiveSecret
	}
	return "Is not the endpoint of the storage config bucketId names." + msgAdminMay
}

// CheckAccessKey reports a request's accessKey that is not the access key
// (or HMAC access ID, or Azure account) of the stored config whose
// credentials creds are. An empty accessKey always passes. Its error is
// errcode.FieldErrors on accessKey.
func CheckAccessKey(req verification.Request, stored *storageconfig.Config, creds storageconfig.Credentials) error {
	if req.AccessKey == "" {
		return nil
	}
	if bv := provider.BucketVerifyOf(string(stored.Provider)); bv != nil && req.AccessKey == bv.AccessKey(stored.Settings, creds) {
		return nil
	}
	return errcode.FieldErrors{FieldAccessKey: {"Is not the access key of the storage config bucketId names." + msgGiveSecret}}
}
