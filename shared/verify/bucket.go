package verify

// VerifyBucket: the full verification behind the bucket-verify API. It runs
// the checks of Verify, plus a presign check, in three lanes:
//
//	list → read       the scan that also yields Files and HasInfoLabelsFile
//	write → delete    the probe object
//	presign           the signed PUT URL (no network I/O for any driver)
//
// The lanes run concurrently under the Verifier's Deadline, so the wall
// time is that of the longest lane: two round trips to the provider.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// DefaultScanLimit is the bound of VerifyBucket's scan: its list check
// lists at most this many keys under the prefix, in key order, with one
// List call (one request on S3 and on Azure, whose pages hold 1,000 and
// 5,000 keys; one 1,000-key page on GCS). Files is sampled from those keys
// and HasInfoLabelsFile looks only at them: an info.labels file whose key
// sorts after the first 1,000 keys under the prefix is not seen. One
// request keeps the list lane at two round trips (list, read), no longer
// than the write lane (put, delete).
const DefaultScanLimit = 1000

// InfoLabelsName is the base name of the labels files HasInfoLabelsFile
// reports, at any depth under the prefix.
const InfoLabelsName = "info.labels"

// SignedURLTTL is how long BucketResult.SignedURL stays valid.
const SignedURLTTL = 15 * time.Minute

// CORSTestMarker is part of the key that SignedURL allows to PUT:
// "<prefix>.bucketlink-cors-test-<uuid>". Such keys, like probe keys, are
// left out of the sample.
const CORSTestMarker = ".bucketlink-cors-test-"

// BucketResult is a full bucket verification for the bucket-verify API.
// Files, HasInfoLabelsFile and the SignedURL fields are set only
// when every check passed (Verified); Endpoint is set for every azure_blob
// config.
type BucketResult struct {
	// Result holds the checks (list, read, write, delete, presign) with
	// the codes and messages of Verify, the field errors, and the CORS
	// outcome.
	Result
	// Files is a uniformly random sample, at most SampleSize, of the
	// objects the scan listed under the prefix (probe keys, CORS-test keys
	// and "directory" placeholders left out), sorted by key. Name is the
	// key's base name and FolderName its directory relative to the prefix,
	// with a trailing slash ("" at the top of the prefix).
	Files []verification.File
	// HasInfoLabelsFile reports a key whose base name is InfoLabelsName
	// among the keys the scan listed (at most DefaultScanLimit).
	HasInfoLabelsFile bool
	// SignedURL is a presigned PUT of a key under the prefix (see
	// CORSTestMarker), valid for SignedURLTTL.
	SignedURL string
	// SignedURLKey is the key SignedURL allows to PUT.
	SignedURLKey string
	// SignedURLHeaders are the headers a PUT to SignedURL must carry
	// (blob.PresignHeaders; Azure: x-ms-blob-type); nil when none are
	// needed.
	SignedURLHeaders map[string]string
	// SignedURLUnavailable says why SignedURL is empty although every
	// check passed (the provider's contract.Report.NoPresign); "" otherwise.
	SignedURLUnavailable string
	// Endpoint is, for azure_blob only, the reformatted blob endpoint of
	// the account: https://{account}.blob.core.windows.net/ or the
	// config's normalised endpoint override (see azrules.Endpoint).
	Endpoint string
}

// VerifyBucket runs the checks of Verify with the same deadline, failure
// codes and field errors, plus a presign check, in three concurrent lanes
// (one after another when Sequential): list then read, write then delete,
// presign. Its list check scans up to ScanLimit keys under the prefix (see
// DefaultScanLimit), which feed Files and HasInfoLabelsFile; the read check
// reads the first sampled object. Like Verify, it never puts a secret into
// a check message or field error. With an Azure SAS token as the
// credentials, SignedURL carries that token (the driver has no key to sign
// with).
func (v *Verifier) VerifyBucket(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) BucketResult {
	prefix := c.Prefix()
	r := &run{cfg: c, creds: creds, probeKey: prefix + ProbeMarker + uuid.NewString(), withPresign: true}
	putKey := prefix + CORSTestMarker + uuid.NewString()
	report := c.Report(creds)
	sasOnly := report.NoPresign != ""
	var putHeaders map[string]string
	v.verify(ctx, r, func(b blob.Bucket) []lane {
		putHeaders = blob.PresignPutHeaders(b)
		presign := v.presignLane(putKey, b)
		if sasOnly {
			presign = noPresignLane(report.NoPresignNote)
		}
		if c.ReadOnly() {
			// No upload is made from a browser on a read-only config,
			// so there is no PUT preflight to judge.
			return []lane{v.scanLane(prefix, b), v.readOnlyLane(r.probeKey, b)}
		}
		return v.withCORS([]lane{v.scanLane(prefix, b), v.writeLane(r.probeKey, b), presign}, c, putKey, b)
	})
	res := BucketResult{Result: v.result(r)}
	res.Endpoint = report.BucketEndpoint
	if !res.Verified() {
		return res
	}
	res.Files = files(prefix, r.sample)
	res.HasInfoLabelsFile = r.hasInfoLabels
	if c.ReadOnly() {
		res.SignedURLUnavailable = NoSignedURLReadOnly
		return res
	}
	if sasOnly {
		res.SignedURLUnavailable = report.NoPresign
		return res
	}
	res.SignedURL, res.SignedURLKey, res.SignedURLHeaders = r.signedURL, putKey, putHeaders
	return res
}

// noPresignLane is the presign check of a config whose credentials
// cannot sign a URL: skipped, saying why (contract.Report.NoPresignNote).
func noPresignLane(note string) lane {
	return func(context.Context) func(*run) {
		return func(r *run) {
			r.presign = outcome{skipped: true, note: note}
		}
	}
}

func (v *Verifier) scanLimit() int {
	if v.ScanLimit <= 0 || v.ScanLimit > DefaultScanLimit {
		return DefaultScanLimit
	}
	return v.ScanLimit
}

// scanLane is VerifyBucket's list→read lane: one bounded listing, sampled
// at random and searched for labels files.
func (v *Verifier) scanLane(prefix string, b blob.Bucket) lane {
	limit := v.scanLimit()
	return func(ctx context.Context) func(*run) {
		var hasLabels bool
		list, read, sample := v.listAndRead(ctx, prefix, b, limit, func(objs []blob.Object) ([]blob.Object, string) {
			s := scan(objs, SampleSize, rand.IntN)
			hasLabels = s.hasInfoLabels
			return s.sample, scanNote(s.files, limit, len(objs) >= limit, prefix)
		})
		return func(r *run) { r.list, r.read, r.sample, r.hasInfoLabels = list, read, sample, hasLabels }
	}
}

// presignLane signs a PUT of key, valid for SignedURLTTL.
func (v *Verifier) presignLane(key string, b blob.Bucket) lane {
	return func(ctx context.Context) func(*run) {
		var u string
		err := v.call(ctx, func(ctx context.Context) (err error) {
			u, err = b.PresignPut(ctx, key, SignedURLTTL)
			return err
		})
		o := outcome{note: "Signed a PUT URL for " + quote(key) + ", valid for 15 minutes."}
		if err != nil {
			o, u = outcome{err: err}, ""
		}
		return func(r *run) { r.presign, r.signedURL = o, u }
	}
}

// scanned is what scan found in a listing.
type scanned struct {
	sample        []blob.Object // sorted by key
	files         int           // objects eligible for the sample
	hasInfoLabels bool
}

// scan draws a uniformly random sample of at most k of the eligible
// objects of objs (reservoir sampling, Algorithm R; intN(n) returns a
// uniform int in [0, n)) and looks for labels files. Probe keys, CORS-test
// keys and "directory" placeholders are not eligible.
func scan(objs []blob.Object, k int, intN func(n int) int) scanned {
	var s scanned
	for _, o := range objs {
		if strings.HasSuffix(o.Key, "/") || strings.Contains(o.Key, ProbeMarker) || strings.Contains(o.Key, CORSTestMarker) {
			continue
		}
		s.files++
		if path.Base(o.Key) == InfoLabelsName {
			s.hasInfoLabels = true
		}
		if len(s.sample) < k {
			s.sample = append(s.sample, o)
		} else if j := intN(s.files); j < k {
			s.sample[j] = o
		}
	}
	slices.SortFunc(s.sample, func(a, b blob.Object) int { return strings.Compare(a.Key, b.Key) })
	return s
}

// scanNote is the list check's message of a scan that found n files;
// capped says the scan stopped at its bound, limit keys.
func scanNote(n, limit int, capped bool, prefix string) string {
	note := listNote(n, prefix)
	if capped {
		note = strings.TrimSuffix(note, ".") + fmt.Sprintf(" (the scan stops at %d keys).", limit)
	}
	return note
}

// files turns sampled objects into the API's files: base name, size and
// directory relative to prefix.
func files(prefix string, objs []blob.Object) []verification.File {
	out := make([]verification.File, 0, len(objs))
	for _, o := range objs {
		dir, name := path.Split(strings.TrimPrefix(o.Key, prefix))
		out = append(out, verification.File{Name: name, Size: o.Size, FolderName: dir})
	}
	return out
}
