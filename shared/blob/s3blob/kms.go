package s3blob

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// SSE-KMS: S3 calls KMS on the caller's behalf, with the caller's
// permissions, to write (kms:GenerateDataKey) and read (kms:Decrypt) an
// object a KMS key encrypts, and answers a refusal as its own 403
// AccessDenied. The answers S3 gives (see
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html
// and https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html):
//
//   - a message naming the KMS action and key: "User: arn:aws:iam::…:user/x
//     is not authorized to perform: kms:GenerateDataKey on resource:
//     arn:aws:kms:…:key/… because no identity-based policy allows the
//     kms:GenerateDataKey action";
//   - for a read, KMS's own message: "The ciphertext refers to a customer
//     master key that does not exist, does not exist in this region, or you
//     are not allowed to access.";
//   - error codes of KMS's exceptions, prefixed "KMS." (KMS.DisabledException,
//     KMS.NotFoundException, …), whose message names the key;
//   - or just "Access Denied": for a read, HeadObject (which needs no KMS
//     permission) then tells whether a KMS key encrypts the object, and
//     which.

// kmsDenied matches the message of a refused KMS call and captures the
// action and the key.
var kmsDenied = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`not authorized to perform: (kms:[A-Za-z]+) on resource: (arn:[^\s]+)`)
})

// kmsKeyARN finds a KMS key's ARN in a message.
var kmsKeyARN = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+`)
})

// kmsCiphertext is the start of KMS's message when it will not decrypt.
const kmsCiphertext = "The ciphertext refers to a customer master key"

// kmsRefusal reports an S3 answer that blames the KMS key, with the key
// (when the answer names it) and the action the credentials lack, which
// for a message that does not name it is the one op needs.
func kmsRefusal(ae smithy.APIError, op string) (key, action string, ok bool) {
	msg := ae.ErrorMessage()
	if m := kmsDenied().FindStringSubmatch(msg); m != nil {
		return strings.TrimRight(m[2], ".,;"), m[1], true
	}
	if strings.HasPrefix(ae.ErrorCode(), "KMS.") || strings.Contains(msg, kmsCiphertext) {
		return kmsKeyARN().FindString(msg), kmsActionFor(op), true
	}
	return "", "", false
}

// kmsActionFor is the KMS action op needs on an SSE-KMS object.
func kmsActionFor(op string) string {
	if op == "read" {
		return blob.KMSDecrypt
	}
	return blob.KMSGenerateDataKey
}

// objectKMSKey asks with HeadObject which KMS key encrypts key; ok is false
// when HeadObject fails (the credentials may not read the object at all) or
// no KMS key does.
func (b *Bucket) objectKMSKey(ctx context.Context, key string) (kmsKey string, ok bool) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return "", false
	}
	switch out.ServerSideEncryption {
	case types.ServerSideEncryptionAwsKms, types.ServerSideEncryptionAwsKmsDsse:
		return aws.ToString(out.SSEKMSKeyId), true
	}
	return "", false
}

// explainReadRefusal turns the AccessDenied of a read of key into
// KMSAccessDenied when the object is an SSE-KMS one the credentials may see
// but not decrypt, and fills in the key of a KMSAccessDenied whose answer
// did not name it. It costs one HeadObject, on the refusal only.
func (b *Bucket) explainReadRefusal(ctx context.Context, key string, err error) error {
	e, ok := err.(*blob.Error)
	if !ok || (e.Code != blob.AccessDenied && (e.Code != blob.KMSAccessDenied || e.KMSKey != "")) {
		return err
	}
	kmsKey, ok := b.objectKMSKey(ctx, key)
	if !ok {
		return err
	}
	e.Code, e.KMSAction = blob.KMSAccessDenied, blob.KMSDecrypt
	e.KMSKey = kmsKey
	return e
}
