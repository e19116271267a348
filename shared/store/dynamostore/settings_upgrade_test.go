package dynamostore

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// legacyItem is a config item in the shape the store wrote before
// settings were one document: every s3_* attribute on every item, the
// gc_storage_* and azure_* ones when set (configItem of that code).
func legacyItem(uid string, id int64, provider string, fields map[string]types.AttributeValue) map[string]types.AttributeValue {
	item := configKey(uid)
	item[attrGSI1PK] = str(orgPK(1))
	item[attrGSI1SK] = str(sortPosition(storageconfig.Now(), uid))
	item[attrType] = str("config")
	item[attrUID] = str(uid)
	item[attrID] = num(id)
	item[attrOrgID] = num(1)
	item[attrName] = str("legacy " + provider)
	item[attrProvider] = str(provider)
	for _, name := range []string{"s3_bucket_name", "s3_bucket_region", "s3_bucket_prefix", "s3_cloudfront_domain",
		"s3_cloudfront_public_key_id", "s3_auth_method", "s3_role_arn", "s3_endpoint_url"} {
		item[name] = str("")
	}
	item["s3_is_accelerated"], item["s3_use_path_style"] = boolean(false), boolean(false)
	item[attrIsVerified] = boolean(true)
	item[attrCreatedAt] = micros(storageconfig.Now())
	item[attrUpdatedAt] = micros(storageconfig.Now())
	item[attrVersion] = num(1)
	item[attrSealed] = bin([]byte{byte(id)})
	for k, v := range fields {
		item[k] = v
	}
	return item
}

// TestLegacyItemsUpgradeOnRead writes, with raw PutItem, config items of
// every provider and auth method as today's code wrote them (an attribute
// per provider field), and reads them with the store: each is upgraded
// as it is read (get and list), and its next update writes it in the new
// shape, with one settings attribute and none of the old ones.
func TestLegacyItemsUpgradeOnRead(t *testing.T) {
	ctx := context.Background()
	d := testenv.SharedDynamoDB(t)
	client := d.Client(t)
	table := testenv.TableName(t)
	if err := CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	s := New(client, table)
	type legacy struct {
		uid, provider string
		fields        map[string]types.AttributeValue
		want          storageconfig.Settings
	}
	cases := []legacy{
		{"11111111-0000-4000-8000-000000000000", s3.NameAWS, map[string]types.AttributeValue{
			"s3_bucket_name": str("acme-aws"), "s3_bucket_region": str("us-west-2"), "s3_bucket_prefix": str("data/"),
			"s3_is_accelerated": boolean(true), "s3_cloudfront_domain": str("d111111abcdef8.cloudfront.net"),
			"s3_cloudfront_public_key_id": str("K2JCJMDEHXQW5F"), "s3_auth_method": str("access_key")},
			&s3.Settings{BucketName: "acme-aws", Region: "us-west-2", KeyPrefix: "data/", Accelerate: true,
				CloudfrontDomain: "d111111abcdef8.cloudfront.net", CloudfrontPublicKeyID: "K2JCJMDEHXQW5F", Auth: s3.AuthAccessKey}},
		{"22222222-0000-4000-8000-000000000000", s3.NameAWS, map[string]types.AttributeValue{
			"s3_bucket_name": str("acme-role"), "s3_bucket_region": str("eu-west-1"), "s3_auth_method": str("iam_role"),
			"s3_role_arn": str("arn:aws:iam::123456789012:role/r")},
			&s3.Settings{BucketName: "acme-role", Region: "eu-west-1", Auth: s3.AuthIAMRole, RoleARN: "arn:aws:iam::123456789012:role/r"}},
		{"33333333-0000-4000-8000-000000000000", s3.NameCompatible, map[string]types.AttributeValue{
			"s3_bucket_name": str("data"), "s3_bucket_prefix": str("m/"), "s3_auth_method": str("access_key"),
			"s3_endpoint_url": str("https://minio.example.com"), "s3_use_path_style": boolean(true)},
			&s3.Settings{Compatible: true, BucketName: "data", KeyPrefix: "m/", Auth: s3.AuthAccessKey,
				Endpoint: "https://minio.example.com", UsePathStyle: true}},
		{"44444444-0000-4000-8000-000000000000", gcs.Name, map[string]types.AttributeValue{
			"gc_storage_bucket_name": str("acme-gcs"), "gc_storage_prefix": str("g/"), "gc_storage_auth_method": str("service_account")},
			&gcs.Settings{BucketName: "acme-gcs", KeyPrefix: "g/", Auth: gcs.AuthServiceAccount}},
		{"55555555-0000-4000-8000-000000000000", gcs.Name, map[string]types.AttributeValue{
			"gc_storage_bucket_name": str("acme-hmac"), "gc_storage_auth_method": str("hmac")},
			&gcs.Settings{BucketName: "acme-hmac", Auth: gcs.AuthHMAC}},
		{"66666666-0000-4000-8000-000000000000", azure.Name, map[string]types.AttributeValue{
			"azure_account_name": str("acmestore"), "azure_container_name": str("datasets"), "azure_prefix": str("a/"),
			"azure_endpoint_url": str("https://acmestore.blob.core.windows.net/")},
			&azure.Settings{Account: "acmestore", Container: "datasets", KeyPrefix: "a/", Endpoint: "https://acmestore.blob.core.windows.net/"}},
	}
	for i, c := range cases {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table,
			Item: legacyItem(c.uid, int64(i+1), c.provider, c.fields)}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListConfigs(ctx, 1, store.ListOptions{Limit: 100})
	if err != nil || len(page.Items) != len(cases) {
		t.Fatalf("list legacy items: %d, %v", len(page.Items), err)
	}
	for _, c := range cases {
		got, err := s.GetConfig(ctx, c.uid)
		if err != nil {
			t.Fatalf("get legacy %s: %v", c.uid, err)
		}
		if !reflect.DeepEqual(got.Settings, c.want) {
			t.Errorf("legacy %s settings = %#v, want %#v", c.uid, got.Settings, c.want)
		}
		got.Name = "renamed"
		if err := s.UpdateConfig(ctx, got); err != nil {
			t.Fatalf("update legacy %s: %v", c.uid, err)
		}
		item, err := s.get(ctx, configKey(c.uid))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := item[attrSettings]; !ok {
			t.Errorf("updated %s has no settings attribute", c.uid)
		}
		for name := range item {
			if len(name) > 3 && (name[:3] == "s3_" || len(name) > 11 && name[:11] == "gc_storage_" || len(name) > 6 && name[:6] == "azure_") {
				t.Errorf("updated %s keeps the old attribute %s", c.uid, name)
			}
		}
		again, err := s.GetConfig(ctx, c.uid)
		if err != nil || !reflect.DeepEqual(again.Settings, c.want) || again.Name != "renamed" {
			t.Errorf("updated %s reads %+v, %v", c.uid, again, err)
		}
	}
}
