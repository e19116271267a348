package azureblob

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

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
// create and write until now+ttl. With a service principal it signs a user
// delegation SAS (the same permissions) with a user delegation key it asks
// the service for (Get User Delegation Key, one request under ctx), valid
// as long as the URL. With a SAS token it returns the blob's
// URL with that token, which must allow create or write (otherwise an
// AccessDenied error naming the missing permission); the URL then expires
// when the token does, whatever ttl says.
func (b *Bucket) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", b.wrap("presign", err)
	}
	blobURL := b.container.NewBlobClient(key).URL()
	if b.principal {
		return b.presignDelegated(ctx, blobURL, key, ttl)
	}
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

// maxDelegationTTL is the longest life of a user delegation key, and so of
// a user delegation SAS.
const maxDelegationTTL = 7 * 24 * time.Hour

// presignDelegated signs a user delegation SAS for key, allowing create
// and write until now+ttl.
func (b *Bucket) presignDelegated(ctx context.Context, blobURL, key string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > maxDelegationTTL {
		return "", &blob.Error{Code: blob.Unknown, Op: "presign", Err: fmt.Errorf("azureblob: presign %s: ttl %s outside (0, %s]", key, ttl, maxDelegationTTL)}
	}
	u, err := url.Parse(blobURL)
	if err != nil {
		return "", b.wrap("presign", fmt.Errorf("azureblob: presign: blob URL: %w", err))
	}
	now := time.Now().UTC()
	start, expiry := now.Add(-presignSkew), now.Add(ttl)
	udc, err := b.svc.GetUserDelegationCredential(ctx, service.KeyInfo{
		Start:  to.Ptr(start.Format(sas.TimeFormat)),
		Expiry: to.Ptr(expiry.Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return "", b.wrap("presign", err)
	}
	proto := sas.ProtocolHTTPS
	if u.Scheme == "http" {
		proto = sas.ProtocolHTTPSandHTTP
	}
	perms := sas.BlobPermissions{Create: true, Write: true}
	qp, err := sas.BlobSignatureValues{
		Protocol:      proto,
		StartTime:     start,
		ExpiryTime:    expiry,
		Permissions:   perms.String(),
		ContainerName: b.name,
		BlobName:      key,
	}.SignWithUserDelegation(udc)
	if err != nil {
		return "", b.wrap("presign", fmt.Errorf("azureblob: sign user delegation SAS: %w", err))
	}
	u.RawQuery = qp.Encode()
	return u.String(), nil
}
