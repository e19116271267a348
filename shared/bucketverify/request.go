// Package bucketverify is the domain of the bucket-verify API
// (POST /v1/api/organizations/{organizationId}/buckets/verify): its request
// body, how a request maps onto a storage config and credentials, the
// translation of the storage-config field names of validation and check
// messages into the API's own field names, and its response shape. It
// knows nothing of HTTP, stores or queues; package httpapi serves it and
// package verifyworker runs what it describes.
//
// A request is one of three kinds:
//
//   - credentials in the request (secretKey given, no bucketId): the
//     request's fields are verified as given;
//   - secretKey and bucketId: the same; bucketId only has to name a storage
//     config of the organization;
//   - bucketId without secretKey: the stored config's provider, endpoint,
//     account or access key, auth method and credentials are used; the
//     request's prefix, when given and not empty, narrows the stored one;
//     only a caller whose role may edit the config (admin) may also replace
//     its bucket, prefix, region (S3 only) and endpoint (s3_compatible
//     only); its storageProvider and accessKey, when given, must be the
//     stored config's (see Parsed.Scope and StoredTarget).
package bucketverify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// The request fields, as the API spells them.
const (
	FieldStorageProvider = "storageProvider"
	FieldAccessKey       = "accessKey"
	FieldSecretKey       = "secretKey"
	FieldBucketID        = "bucketId"
	FieldBucket          = "bucket"
	FieldEndpoint        = "endpoint"
	FieldRegion          = "region"
	FieldPrefix          = "prefix"
)

// fieldOrder is the order in which error messages name fields.
var fieldOrder = []string{FieldStorageProvider, FieldAccessKey, FieldSecretKey, FieldBucketID,
	FieldBucket, FieldEndpoint, FieldRegion, FieldPrefix}

// providerOf maps storageProvider to the storage-config provider; ""
// for a value no provider serves.
func providerOf(sp string) storageconfig.Provider {
	if p, _, ok := provider.ByStorageProvider(sp); ok {
		return storageconfig.Provider(p.Name())
	}
	return ""
}

// apiProvider maps a storage-config provider to storageProvider.
func apiProvider(p storageconfig.Provider) string {
	if bv := provider.BucketVerifyOf(string(p)); bv != nil {
		return bv.StorageProvider
	}
	return ""
}

// mappingOf returns the mapping of storageProvider sp, nil for none.
func mappingOf(sp string) *contract.BucketVerify {
	_, bv, _ := provider.ByStorageProvider(sp)
	return bv
}

// defaultStorageProvider is the storageProvider of a request that gives
// none: the one listed first.
var defaultStorageProvider = listed()[0].StorageProvider

// listed returns the providers' bucket-verify mappings in the order the
// unsupported-provider message lists them.
func listed() []*contract.BucketVerify {
	var out []*contract.BucketVerify
	for _, p := range provider.All {
		if bv := p.BucketVerify(); bv != nil {
			out = append(out, bv)
		}
	}
	slices.SortStableFunc(out, func(a, b *contract.BucketVerify) int { return a.ListOrder - b.ListOrder })
	return out
}

// Parsed is a request that passed validation.
type Parsed struct {
	// Request is the normalised request, as the verification record holds
	// it: equal requests give equal records (verification.RecordKey). Its
	// BucketID is the uid of the config bucketId names; when bucketId was
	// an integer, it is empty until the caller resolves BucketNumber.
	Request verification.Request
	// BucketNumber is bucketId when it was given as an integer id (0
	// otherwise). The caller resolves it to the config's uid and sets
	// Request.BucketID before using Request.
	BucketNumber int64
	// Existing marks a request of the existing-bucket verify
	// (ParseExisting): the stored config's bucket, narrowed to a prefix.
	Existing bool
	// Reach is how far a request on stored credentials may take them,
	// set by Scope from the caller's role.
	Reach Reach
	// SecretKey is the request's secret key; empty when the stored config
	// that Request.BucketID names lends its credentials.
	SecretKey string
	// Credentials are the request's credentials (empty with SecretKey).
	Credentials storageconfig.Credentials
}

// UsesStoredCredentials reports whether the verification uses the
// credentials of the stored config Request.BucketID names.
func (p Parsed) UsesStoredCredentials() bool { return p.SecretKey == "" }

// body is a decoded request body: present string fields, nulls dropped.
type body map[string]string

// Parse decodes and validates a request body. Its error is
// errcode.FieldErrors keyed by the API's field names (render it with
// Message); it never quotes the secret key.
//
// A request with credentials is validated completely, with the rules of
// the storage-configs API. A request that uses a stored config's
// credentials is validated as far as it can be without that config; call
// StoredTarget with the config to finish.
func Parse(raw []byte) (Parsed, error) {
	b, errs := decode(raw)
	if err := errs.Err(); err != nil {
		return Parsed{}, err
	}
	provider, ok := b[FieldStorageProvider]
	if provider = strings.TrimSpace(provider); ok && providerOf(provider) == "" {
		errs.Add(FieldStorageProvider, "%s", unsupportedProvider(provider))
	}
	bucketID, bucketNumber := "", int64(0)
	if ref, given := b[FieldBucketID]; given {
		var msg string
		if bucketID, bucketNumber, msg = ParseBucketRef(ref); msg != "" {
			errs.Add(FieldBucketID, "%s", msg)
		}
	}
	secret := b[FieldSecretKey]
	if secret == "" && bucketID == "" && bucketNumber == 0 {
		errs.Add(FieldSecretKey, "This field is required, unless bucketId names a storage config whose credentials to use.")
	}
	if err := errs.Err(); err != nil {
		return Parsed{}, err
	}
	if secret == "" {
		p, err := parseStored(b, provider, bucketID)
		p.BucketNumber = bucketNumber
		return p, err
	}
	if provider == "" {
		provider = defaultStorageProvider
	}
	req := verification.Request{
		Provider:  provider,
		AccessKey: strings.TrimSpace(b[FieldAccessKey]),
		BucketID:  bucketID,
		Bucket:    b[FieldBucket],
		Endpoint:  strings.TrimSpace(b[FieldEndpoint]),
		Region:    strings.TrimSpace(b[FieldRegion]),
		Prefix:    b[FieldPrefix],
	}
	creds := credentialsOf(req, secret)
	cfg, creds, err := build(req, creds, b)
	if err != nil {
		return Parsed{}, err
	}
	return Parsed{Request: normalise(req, cfg), BucketNumber: bucketNumber, SecretKey: secret, Credentials: creds}, nil
}

// unsupportedProvider is the message for a storageProvider this service
// does not serve, such as the "edgeimpulse" and "huggingface" of newer
// clients.
func unsupportedProvider(p string) string {
	var names []string
	for _, bv := range listed() {
		names = append(names, bv.Listed)
	}
	list := names[0]
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " and " + names[n-1]
	}
	return fmt.Sprintf("%q is not supported by this service; it supports %s.", p, list)
}

// ParseBucketRef reads a bucketId: the integer id of a storage config
// (what the official clients send), or for raw-HTTP callers its uid. It
// returns the one that was given, or a message saying what is wrong.
func ParseBucketRef(ref string) (uid string, id int64, msg string) {
	ref = strings.TrimSpace(ref)
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if n <= 0 {
			return "", 0, "A bucketId is a positive integer: the id of a storage config of this organization."
		}
		return "", n, ""
	}
	if validUID(ref) {
		return ref, 0, ""
	}
	return "", 0, "A bucketId is the id of a storage config of this organization: its integer id (such as 42) or its uid (such as 3f0c9a2e-8d5b-4c61-9a4e-2b7f1d0c6e58)."
}

// parseStored validates what it can of a request that uses the stored
// config's credentials.
func parseStored(b body, provider, bucketID string) (Parsed, error) {
	errs := errcode.FieldErrors{}
	prefix, msg := contract.NormalizePrefix(b[FieldPrefix])
	if msg != "" {
		errs.Add(FieldPrefix, "%s", msg)
	}
	if err := errs.Err(); err != nil {
		return Parsed{}, err
	}
	return Parsed{Request: verification.Request{
		Provider:  provider,
		AccessKey: strings.TrimSpace(b[FieldAccessKey]),
		BucketID:  bucketID,
		Bucket:    b[FieldBucket],
		Endpoint:  strings.TrimSpace(b[FieldEndpoint]),
		Region:    strings.TrimSpace(b[FieldRegion]),
		Prefix:    prefix,
	}}, nil
}

// validUID reports a lower-case UUID, as storage configs are named.
func validUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// decode reads a JSON object of string fields (bucketId may also be a
// number); unknown fields and wrong types are errors on their field.
func decode(raw []byte) (body, errcode.FieldErrors) {
	errs := errcode.FieldErrors{}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil || m == nil {
		switch {
		case errors.Is(err, io.EOF):
			errs.Add(errcode.NonField, "The request body is empty; send a JSON object.")
		default:
			errs.Add(errcode.NonField, "The request body must be a JSON object.")
		}
		return nil, errs
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		errs.Add(errcode.NonField, "Malformed JSON: unexpected data after the JSON object.")
		return nil, errs
	}
	b := body{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if !slices.Contains(fieldOrder, k) {
			errs.Add(k, "Unknown field; remove it or check its spelling.")
			continue
		}
		if string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var n json.Number
			if k == FieldBucketID && json.Unmarshal(v, &n) == nil {
				b[k] = n.String() // an integer id; ParseBucketRef checks it
				continue
			}
			if k == FieldBucketID {
				errs.Add(k, "Must be the integer id of a storage config (or its uid, as a string).")
			} else {
				errs.Add(k, "Must be a string.")
			}
			continue
		}
		b[k] = s
	}
	return b, errs
}

// credentialsOf returns the credentials a request gives with secret.
func credentialsOf(req verification.Request, secret string) storageconfig.Credentials {
	if _, bv, ok := provider.ByStorageProvider(req.Provider); ok {
		return bv.CredentialsOf(req.AccessKey, secret)
	}
	return storageconfig.Credentials{}
}

// normalise returns req with the values the config was built from, so
// that requests that mean the same give the same record.
func normalise(req verification.Request, c *storageconfig.Config) verification.Request {
	req.Bucket = c.Bucket()
	req.Prefix = c.Prefix()
	if bv := provider.BucketVerifyOf(string(c.Provider)); bv != nil {
		req.Region, req.Endpoint = bv.Normalised(c.Settings, verifyRequest(req, nil, nil))
	}
	return req
}

// verifyRequest is the part of req a provider maps.
func verifyRequest(req verification.Request, creds storageconfig.Credentials, present body) contract.VerifyRequest {
	_, hasBucket := present[FieldBucket]
	_, hasPrefix := present[FieldPrefix]
	return contract.VerifyRequest{AccessKey: req.AccessKey, Creds: creds, Bucket: req.Bucket, Prefix: req.Prefix,
		Region: req.Region, Endpoint: req.Endpoint, HasBucket: hasBucket, HasPrefix: hasPrefix}
}

// Target returns the storage config and credentials that a request with
// credentials verifies (Parsed.Request and Parsed.Credentials, as a worker
// reads them back from a verification record). Its error is
// errcode.FieldErrors keyed by the API's field names.
func Target(req verification.Request, creds storageconfig.Credentials) (*storageconfig.Config, storageconfig.Credentials, error) {
	b := body{FieldBucket: req.Bucket, FieldPrefix: req.Prefix}
	return build(req, creds, b)
}

// build validates req with creds through the storage-configs API's rules
// and returns the config it describes. present holds the fields the
// request gave (only their presence matters for bucket and prefix).
func build(req verification.Request, creds storageconfig.Credentials, present body) (*storageconfig.Config, storageconfig.Credentials, error) {
	errs := errcode.FieldErrors{}
	p, bv, ok := provider.ByStorageProvider(req.Provider)
	if !ok {
		errs.Add(FieldStorageProvider, "%s", unsupportedProvider(req.Provider))
		return nil, creds, errs
	}
	if _, hasBucket := present[FieldBucket]; !hasBucket {
		errs.Add(FieldBucket, "This field is required.")
	}
	// The provider's create fields carry creds: the request's (Parse) or
	// a record's (Target).
	create := bv.Create(verifyRequest(req, creds, present), errs)
	create["name"], create["provider"] = "bucket-verify", p.Name()
	raw, err := json.Marshal(create)
	if err != nil {
		errs.Add(errcode.NonField, "The request could not be read.")
		return nil, creds, errs
	}
	defer clear(raw) // it holds the secret
	c, got, perr := storageconfig.ParseCreate(raw)
	var fe errcode.FieldErrors
	if errors.As(perr, &fe) {
		for field, msgs := range fe {
			for _, m := range msgs {
				errs.Add(APIField(field), "%s", TranslateMessage(m))
			}
		}
	} else if perr != nil {
		errs.Add(errcode.NonField, "The request could not be read.")
	}
	if err := errs.Err(); err != nil {
		return nil, creds, err
	}
	return c, got, nil
}
