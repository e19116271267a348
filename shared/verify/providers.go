package verify

import (
	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// The request fields of gc_storage and azure_blob configs that field errors
// name.
const (
	FieldGCSBucketName     = "gc_storage_bucket_name"
	FieldGCSServiceAccount = "gc_storage_auth_json_content"
	FieldGCSHMACAccessID   = "gc_storage_hmac_access_id"
	FieldGCSHMACSecret     = "gc_storage_hmac_secret"
	FieldAzureAccountName  = "azure_account_name"
	FieldAzureContainer    = "azure_container_name"
	FieldAzureAccountKey   = "azure_account_key"
	FieldAzureSASToken     = "azure_sas_token"
	FieldAzureEndpointURL  = "azure_endpoint_url"
)

// profile is how the failures of one kind of config (provider and auth
// method) are reported: which request field each failure names, and the
// words that name the provider's credentials and permissions.
type profile struct {
	// keyID names an unknown principal (invalid_access_key); secret a
	// credential that does not match it (signature_mismatch); bucket a
	// missing or closed bucket; region a wrong region ("" when the
	// provider has none); endpoint an unreachable endpoint (NonField when
	// the user gave none); denied a missing object permission.
	keyID, secret, bucket, region, endpoint, denied string

	msgInvalidKey, msgBadSecret, msgBucket string

	// A permission message reads "<who> <are> not allowed <perm> on
	// <resource>. <grant>", or "<who> can list the <bucketWord> but ...".
	who, are, resource, grant, bucketWord string
	perms                                 map[string]string
}

const msgBucketNotFound = "Bucket not found or access denied."

var (
	s3Perms = map[string]string{
		CheckList:   "s3:ListBucket",
		CheckRead:   "s3:GetObject",
		CheckWrite:  "s3:PutObject",
		CheckDelete: "s3:DeleteObject",
		// A presigned PUT works only for credentials allowed to put.
		CheckPresign: "s3:PutObject",
	}
	gcsPerms = map[string]string{
		CheckList:    "storage.objects.list",
		CheckRead:    "storage.objects.get",
		CheckWrite:   "storage.objects.create",
		CheckDelete:  "storage.objects.delete",
		CheckPresign: "storage.objects.create",
	}
	azureKeyPerms = map[string]string{
		CheckList:    "to list blobs",
		CheckRead:    "to read blobs",
		CheckWrite:   "to write blobs",
		CheckDelete:  "to delete blobs",
		CheckPresign: "to write blobs",
	}
	azureSASPerms = map[string]string{
		CheckList:    "to list blobs (SAS permission l)",
		CheckRead:    "to read blobs (SAS permission r)",
		CheckWrite:   "to write blobs (SAS permission w or c)",
		CheckDelete:  "to delete blobs (SAS permission d)",
		CheckPresign: "to write blobs (SAS permission w or c)",
	}
)

// grantGCS is how to grant the object permissions of the checks on GCS.
const grantGCS = "Grant it on the bucket, for example with the role Storage Object User (roles/storage.objectUser)."

// profileOf returns the profile of c with creds.
func profileOf(c *storageconfig.Config, creds storageconfig.Credentials) profile {
	switch c.Provider {
	case storageconfig.ProviderGCStorage:
		return gcsProfile(c).withDefaults()
	case storageconfig.ProviderAzureBlob:
		return azureProfile(c, creds).withDefaults()
	}
	return s3Profile(c).withDefaults()
}

// withDefaults fills what most profiles share.
func (p profile) withDefaults() profile {
	if p.bucketWord == "" {
		p.bucketWord = "bucket"
	}
	return p
}

func s3Profile(c *storageconfig.Config) profile {
	p := profile{
		keyID: FieldAccessKeyID, secret: FieldSecretAccessKey, bucket: FieldBucketName,
		region: FieldBucketRegion, endpoint: errcode.NonField, denied: FieldAccessKeyID,
		msgInvalidKey: "The access key ID was not recognised by the storage provider.",
		msgBadSecret:  "The secret access key does not match the access key ID.",
		msgBucket:     msgBucketNotFound,
		who:           "These credentials", are: "are",
		resource: "arn:aws:s3:::" + c.S3BucketName + "/" + c.S3BucketPrefix + "*",
		grant:    "Grant it in the IAM or bucket policy.",
		perms:    s3Perms,
	}
	if c.Provider == storageconfig.ProviderS3Compatible {
		p.endpoint = FieldEndpointURL
	}
	if c.S3AuthMethod == storageconfig.AuthIAMRole {
		p.denied = FieldRoleARN
		p.who, p.are, p.grant = "The role", "is", "Grant it in the role's permissions policy or the bucket policy."
	}
	return p
}

func gcsProfile(c *storageconfig.Config) profile {
	p := profile{
		keyID: FieldGCSServiceAccount, secret: FieldGCSServiceAccount, bucket: FieldGCSBucketName,
		endpoint: errcode.NonField, denied: FieldGCSServiceAccount,
		msgInvalidKey: "Google did not accept the service account key: the service account or this key of it " +
			"may have been deleted or disabled.",
		msgBadSecret: "Google rejected the signature of the service account key: the key was deleted or " +
			"replaced. Create a new key and send its JSON.",
		msgBucket: msgBucketNotFound,
		who:       "The service account", are: "is",
		resource: "gs://" + c.GCStorageBucketName + "/" + c.GCStoragePrefix + "*",
		grant:    grantGCS,
		perms:    gcsPerms,
	}
	if c.GCStorageAuthMethod == storageconfig.GCSAuthHMAC {
		p.keyID, p.secret, p.denied = FieldGCSHMACAccessID, FieldGCSHMACSecret, FieldGCSHMACAccessID
		p.msgInvalidKey = "The HMAC access ID was not recognised by Google Cloud Storage; check that the key exists and is active."
		p.msgBadSecret = "The HMAC secret does not match the HMAC access ID."
		p.who = "The service account of this HMAC key"
	}
	return p
}

func azureProfile(c *storageconfig.Config, creds storageconfig.Credentials) profile {
	p := profile{
		keyID: FieldAzureAccountName, secret: FieldAzureAccountKey, bucket: FieldAzureContainer,
		endpoint: errcode.NonField, denied: FieldAzureAccountKey,
		msgInvalidKey: "Azure has no storage account with this name; check azure_account_name " +
			"(and azure_endpoint_url for another cloud).",
		msgBadSecret: "The account key was rejected by Azure.",
		msgBucket:    "Container not found or access denied.",
		who:          "The account key", are: "is",
		resource: c.AzureContainerName + "/" + c.AzurePrefix + "*", bucketWord: "container",
		grant: "Check that the storage account allows shared key access and that its firewall " +
			"admits bucketlink.",
		perms: azureKeyPerms,
	}
	if c.AzureEndpointURL != "" && c.AzureEndpointURL != azrules.Endpoint(c.AzureAccountName, "") {
		p.endpoint = FieldAzureEndpointURL
	}
	if creds.AzureAccountKey == "" && creds.AzureSASToken != "" {
		p.secret, p.denied = FieldAzureSASToken, FieldAzureSASToken
		p.msgBadSecret = "The SAS token was rejected by Azure: its signature does not match the account's keys, " +
			"or it was revoked. Create a new SAS token."
		p.who = "The SAS token"
		p.grant = "Create a SAS token for the container with the permissions r, w (or c), d and l."
		p.perms = azureSASPerms
	}
	return p
}
