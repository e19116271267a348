package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// The check codes of what S3 buckets do besides grant or refuse: encryption
// with a KMS key, requester pays, versioning and Object Lock.
const (
	// CodeKMSAccessDenied: a write or read was refused because of the KMS
	// key that encrypts the bucket's objects (SSE-KMS), not the bucket's
	// permissions. On the credential field.
	CodeKMSAccessDenied = "kms_access_denied"
	// CodeRequesterPays: the bucket is a Requester Pays bucket, which
	// refuses requests without the header that accepts the charges.
	CodeRequesterPays = "requester_pays"
	// CodeVersioned: the delete check passed on a versioned bucket, by
	// deleting the probe's version (ok).
	CodeVersioned = "versioned"
	// CodeProbeRetained: a warning of the delete check (ok): a retention
	// rule (Object Lock) keeps the probe object, which could not be
	// deleted; the delete permission itself is not in question.
	CodeProbeRetained = "probe_retained"
)

// writeAndDelete writes the probe object at key and removes it again. On
// a driver with versions (S3), it removes the version it wrote, so that a
// versioned bucket keeps nothing of the probe, and says the bucket is
// versioned; a version a retention rule keeps is a warning, not a failed
// delete.
func (v *Verifier) writeAndDelete(ctx context.Context, key string, b blob.Bucket) (write, del outcome) {
	var w blob.Written
	vb, versions := b.(blob.Versions)
	err := v.call(ctx, func(ctx context.Context) (err error) {
		if versions {
			w, err = vb.PutVersion(ctx, key, probeData)
			return err
		}
		return b.Put(ctx, key, probeData)
	})
	if err != nil {
		return outcome{err: err}, outcome{skippedFor: CheckWrite}
	}
	write = outcome{note: "Wrote the probe object " + quote(key) + "."}
	if w.KMSKey != "" {
		write.note += " The bucket encrypts it with the KMS key " + quote(w.KMSKey) + "."
	}
	err = v.call(ctx, func(ctx context.Context) error {
		if versions {
			return vb.DeleteVersion(ctx, key, w.Version)
		}
		return b.Delete(ctx, key)
	})
	var be *blob.Error
	switch {
	case errors.As(err, &be) && be.Code == blob.Retained:
		return write, outcome{code: CodeProbeRetained, note: retainedNote(key, be.Retention)}
	case err != nil:
		return write, outcome{err: err}
	case w.Version != "":
		return write, outcome{code: CodeVersioned, note: "Deleted the probe object with its version id " + quote(w.Version) +
			", so nothing of it is left. The bucket is versioned: objects the platform overwrites or deletes stay as " +
			"noncurrent versions (and are charged) until a lifecycle rule expires them."}
	}
	return write, outcome{note: "Deleted the probe object."}
}

// retainedNote says which retention keeps the probe at key, and what to do.
func retainedNote(key string, r *blob.Retention) string {
	if r == nil {
		r = &blob.Retention{}
	}
	s := "The probe object " + quote(key) + " could not be deleted: the bucket's Object Lock keeps it (" + r.String() + ")."
	if r.Mode == "" && !r.LegalHold {
		s += " Allow s3:GetObjectRetention to see which retention."
	}
	if r.Hidden {
		s += " A delete marker now hides it from listings; the version goes once the retention ends."
	} else {
		s += " Delete it by hand once the retention ends."
	}
	return s + " The delete permission itself works; objects the platform writes will be kept the same way."
}

// kmsFailure reports a refusal because of the KMS key, on the credential
// field, naming the key and the missing action.
func kmsFailure(be *blob.Error, field, who string) failure {
	key := be.KMSKey
	where := "the KMS key that encrypts the bucket's objects"
	if key != "" {
		where = "the KMS key " + key
	}
	action := cmp.Or(be.KMSAction, blob.KMSGenerateDataKey)
	msg := fmt.Sprintf("%s may not use %s (SSE-KMS): allow %s on it, in the key policy", who, where, action)
	if key != "" {
		msg += fmt.Sprintf(` (a statement with "Action": "%s" and "Resource": "%s")`, action, key)
	}
	msg += " and, when the key is in another AWS account, in the IAM policy too."
	return failure{code: CodeKMSAccessDenied, field: field, msg: msg}
}

// requesterPaysFailure reports a Requester Pays bucket, on the bucket
// field, naming the header S3 wants.
func requesterPaysFailure(be *blob.Error, field, bucket string) failure {
	header := cmp.Or(be.RequestHeader, "x-amz-request-payer: requester")
	return failure{code: CodeRequesterPays, field: field, msg: "The bucket is a Requester Pays bucket: S3 refuses every request " +
		"that does not carry the header " + quote(header) + ", which accepts the charges, and the platform does not send it. " +
		"Turn Requester Pays off for the bucket (aws s3api put-bucket-request-payment --bucket " + bucket +
		" --request-payment-configuration Payer=BucketOwner), or use a bucket that is not Requester Pays."}
}
