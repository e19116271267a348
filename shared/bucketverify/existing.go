package bucketverify

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// ParseExisting decodes and validates a request of the existing-bucket
// verify (POST .../buckets/{bucketId}/verify): bucketRef is the path's
// bucketId (an integer id or a uid) and raw the body, {"prefix": "..."},
// which is required, as in the official client. It verifies the stored
// config with its stored credentials, so the result uses them: call
// Scope with that config before using Request. Its error is
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
	return Parsed{Request: verification.Request{BucketID: uid, Prefix: prefix}, BucketNumber: id, Existing: true}, nil
}

// Scope finishes a request on the stored credentials of the config it
// names (bucketId without secretKey, or the existing-bucket verify), for a
// caller whose role may (mayEdit: admin) or may not (member) edit that
// config. An empty prefix becomes the config's own, so that both forms of
// the same verification share one record. The existing-bucket verify
// takes only a prefix, which must lie inside the config's, whoever asks.
// A verify body may take the credentials beyond the config (another
// bucket, region or endpoint, or a prefix outside the config's; see
// Beyond) only when mayEdit: then Reach becomes ReachReplace, which the
// verification record keeps sealed for its worker. A member's such
// request is an error on each of those fields that says an admin may.
// Its error is errcode.FieldErrors keyed by the API's field names.
func (p *Parsed) Scope(stored *storageconfig.Config, mayEdit bool) error {
	p.Reach = ReachStored
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
	if len(Beyond(p.Request, stored)) > 0 && mayEdit {
		p.Reach = ReachReplace
	}
	_, err := StoredTarget(p.Request, stored, p.Reach)
	return err
}
