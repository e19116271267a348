package bucketverify

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// ParseExisting decodes and validates a request of the existing-bucket
// verify (POST .../buckets/{bucketId}/verify): bucketRef is the path's
// bucketId (an integer id or a uid) and raw the body, {"prefix": "..."},
// which is required, as in the official client. It verifies the stored
// config with its stored credentials, so the result uses them: call
// Narrow with that config before using Request. Its error is
// errcode.FieldErrors keyed by the API's field names.
func ParseExisting(bucketRef string, raw []byte) (Parsed, error) {
	b, errs := decode(raw)
	if err := errs.Err(); err != nil {
		return Parsed{}, err
	}
	for k := range b {
		if k != FieldPrefix {
			errs.Add(k, "Unknown field; this endpoint takes only prefix (the bucket and its credentials are the stored config's).")
		}
	}
	uid, id, msg := ParseBucketRef(bucketRef)
	if msg != "" {
		errs.Add(FieldBucketID, "%s", msg)
	}
	rawPrefix, given := b[FieldPrefix]
	if !given {
		errs.Add(FieldPrefix, "This field is required: a prefix inside the storage config's own prefix, or \"\" for the config's prefix.")
	}
	prefix, pmsg := storageconfig.NormalizePrefix(rawPrefix)
	if pmsg != "" {
		errs.Add(FieldPrefix, "%s", pmsg)
	}
	if err := errs.Err(); err != nil {
		return Parsed{}, err
	}
	return Parsed{Request: verify.Request{BucketID: uid, Prefix: prefix}, BucketNumber: id, Existing: true}, nil
}

// Narrow finishes a request on the stored credentials of the config it
// names (bucketId without secretKey, or the existing-bucket verify): an
// empty prefix becomes the config's own, so that both forms of the same
// verification share one record. For the existing-bucket verify, any
// other prefix must lie inside the config's, so that stored credentials
// are only used where the config points. Its error is
// errcode.FieldErrors on prefix.
func (p *Parsed) Narrow(stored *storageconfig.Config) error {
	if !p.UsesStoredCredentials() {
		return nil
	}
	own := stored.Prefix()
	switch {
	case p.Request.Prefix == "":
		p.Request.Prefix = own
	case p.Existing && !strings.HasPrefix(p.Request.Prefix, own):
		return errcode.FieldErrors{FieldPrefix: {"Must lie inside the storage config's prefix \"" + own + "\" (for example \"" + own + "train/\"), or be \"\" for the config's prefix."}}
	}
	return nil
}
