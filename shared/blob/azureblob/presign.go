package azureblob

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// presignSkew backdates the start of a presigned URL, so a server whose
// clock is a little behind ours accepts it at once.
const presignSkew = 5 * time.Minute

// PresignPutHeaders returns the headers an HTTP PUT to a URL from
// PresignPut must carry: Azure's Put Blob needs x-ms-blob-type. The
// returned map is a fresh copy.
func PresignPutHeaders() map[string]string {
	return map[string]string{"x-ms-blob-type": "BlockBlob"}
}

// PresignPutHeaders implements blob.PresignHeaders: the headers of the
// package's PresignPutHeaders.
func (b *Bucket) PresignPutHeaders() map[string]string { return PresignPutHeaders() }

// PresignPut implements blob.Bucket. It does no network I/O. The PUT must
// carry the headers of PresignPutHeaders.
//
// With an account key it signs a service SAS for the one blob, allowing
// create and write until now+ttl. With a SAS token it returns the blob's
// URL with that token, which must allow create or write (otherwise an
// AccessDenied error naming the missing permission); the URL then expires
// when the token does, whatever ttl says.
func (b *Bucket) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", b.wrap("presign", err)
	}
	blobURL := b.container.NewBlobClient(key).URL()
	if b.cred == nil {
		if probs := b.sasInfo.Problems(time.Now(), AccessWrite); len(probs) > 0 {
			return "", &blob.Error{Code: blob.AccessDenied, Op: "presign", Err: probs[0]}
		}
		// The container client's URL carries the token already.
		return blobURL, nil
	}
	if ttl <= 0 {
		return "", &blob.Error{Code: blob.Unknown, Op: "presign", Err: fmt.Errorf("azureblob: presign %s: ttl must be positive, got %s", key, ttl)}
	}
	u, err := url.Parse(blobURL)
	if err != nil {
		return "", b.wrap("presign", fmt.Errorf("azureblob: presign: blob URL: %w", err))
	}
	proto := sas.ProtocolHTTPS
	if u.Scheme == "http" {
		proto = sas.ProtocolHTTPSandHTTP
	}
	now := time.Now().UTC()
	perms := sas.BlobPermissions{Create: true, Write: true}
	qp, err := sas.BlobSignatureValues{
		Protocol:      proto,
		StartTime:     now.Add(-presignSkew),
		ExpiryTime:    now.Add(ttl),
		Permissions:   perms.String(),
		ContainerName: b.name,
		BlobName:      key,
	}.SignWithSharedKey(b.cred)
	if err != nil {
		return "", b.wrap("presign", fmt.Errorf("azureblob: sign SAS: %w", err))
	}
	u.RawQuery = qp.Encode()
	return u.String(), nil
}
