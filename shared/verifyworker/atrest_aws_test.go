package verifyworker_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/blob/anyblob/anyblobtest"
	"github.com/bucketlink/bucketlink/shared/identity"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
	"github.com/bucketlink/bucketlink/shared/verification"
)

// TestNoSecretAtRestDynamoDB runs verifications of every provider the
// AWS stack serves through the API (bucket-verify with credentials for
// s3, other, google HMAC and azure, one with a wrong secret; a stored
// config created with KMS-sealed credentials, then verified by bucketId
// as it is and, by an admin, beyond it) on DynamoDB Local with moto's
// KMS, then Scans the table and greps every string and binary attribute
// of every item for every secret used and every signature of a signed
// URL handed out.
func TestNoSecretAtRestDynamoDB(t *testing.T) {
	s := newAWSStack(t, 5*time.Second, nil, nil)
	az := testenv.SharedAzurite(t)
	secrets := []string{az.AccountKey}
	connected := func(r map[string]any) {
		t.Helper()
		signed, _ := r["signedUrl"].(string)
		if r["connectionStatus"] != string(verification.StateConnected) || signed == "" {
			t.Fatalf("answer = %v, want connected with a signed URL", r)
		}
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"X-Amz-Signature", "sig"} {
			if v := u.Query().Get(k); v != "" {
				secrets = append(secrets, v, url.QueryEscape(v))
			}
		}
	}
	user := func(accessKey func(testing.TB) string) (bucket, ak, sk string) {
		bucket = testenv.BucketName(t, "rest")
		s.minio.CreateBucket(t, bucket)
		s.minio.PutObject(t, bucket, "data/info.labels", []byte("{}"))
		ak, sk = testenv.NewCredentials(t)
		ak = strings.ToUpper(ak)
		if accessKey != nil {
			ak = accessKey(t)
		}
		s.minio.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
		secrets = append(secrets, sk)
		s.secrets = append(s.secrets, sk)
		return bucket, ak, sk
	}
	org, err := s.store.GetOrgByID(t.Context(), s.orgID)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := provision.CreateAPIKey(t.Context(), s.store, org.Slug, identity.RoleAdmin, "adm-"+randomHex(3))
	if err != nil {
		t.Fatal(err)
	}
	verifyPath := "/v1/api/organizations/" + jsonInt(s.orgID) + "/buckets/verify"
	poll := func(key string, body map[string]any) map[string]any {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var r map[string]any
			if status := s.do(t, verifyPath, key, body, &r); status != http.StatusOK || r["success"] != true {
				t.Fatalf("POST: %d %v", status, r)
			}
			if r["connectionStatus"] != string(verification.StateConnecting) || time.Now().After(end) {
				return r
			}
		}
	}

	b, ak, sk := user(nil)
	connected(poll(s.key, map[string]any{"accessKey": ak, "secretKey": sk, "bucket": b, "prefix": "data/"}))
	connected(poll(s.key, map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": b, "endpoint": s.minio.Endpoint}))
	_, wrong := testenv.NewCredentials(t)
	secrets = append(secrets, wrong)
	s.secrets = append(s.secrets, wrong)
	if r := poll(s.key, map[string]any{"accessKey": ak, "secretKey": wrong, "bucket": b}); r["connectionStatus"] != string(verification.StateError) {
		t.Fatalf("wrong secret: %v", r)
	}
	gb, gak, gsk := user(anyblobtest.HMACAccessID)
	connected(poll(s.key, map[string]any{"storageProvider": "google", "accessKey": gak, "secretKey": gsk, "bucket": gb}))
	container := testenv.ContainerName(t, "rest")
	az.CreateContainer(t, container)
	az.PutBlob(t, container, "data/img.jpg", []byte("jpeg"))
	connected(poll(s.key, map[string]any{"storageProvider": "azure", "accessKey": az.AccountName, "secretKey": az.AccountKey,
		"bucket": container, "endpoint": az.Endpoint(), "prefix": "data/"}))

	// A stored config, verified by bucketId as a member and beyond it
	// (another prefix) as an admin.
	cb, cak, csk := user(nil)
	var created struct {
		ID int64 `json:"id"`
	}
	if status := s.do(t, "/api/v1/storage-configs/", admin, map[string]any{"name": "MinIO", "provider": "s3_compatible",
		"s3_endpoint_url": s.minio.Endpoint, "s3_bucket_name": cb, "s3_bucket_prefix": "data",
		"s3_access_key_id": cak, "s3_secret_access_key": csk}, &created); status != http.StatusCreated || created.ID == 0 {
		t.Fatalf("create: %d %+v", status, created)
	}
	connected(poll(s.key, map[string]any{"bucketId": created.ID}))
	connected(poll(admin, map[string]any{"bucketId": created.ID, "prefix": "other"}))

	// Every item of the table, every string and binary attribute.
	var items int
	p := dynamodb.NewScanPaginator(s.ddb, &dynamodb.ScanInput{TableName: aws.String(s.table)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			items++
			var blob bytes.Buffer
			for name, v := range item {
				appendAttr(&blob, name, v)
			}
			pk, _ := item["pk"].(*types.AttributeValueMemberS)
			for _, secret := range secrets {
				if bytes.Contains(blob.Bytes(), []byte(secret)) && pk != nil {
					t.Errorf("item %s holds a secret in plain text (%d chars, starts %.4s…)", pk.Value, len(secret), secret)
				}
			}
		}
	}
	if items == 0 {
		t.Fatal("the scan found no items")
	}
}

// appendAttr writes the strings and bytes of an attribute value to b.
func appendAttr(b *bytes.Buffer, name string, v types.AttributeValue) {
	b.WriteString(name + "=")
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(v.Value)
	case *types.AttributeValueMemberB:
		b.Write(v.Value)
	case *types.AttributeValueMemberSS:
		b.WriteString(strings.Join(v.Value, "\n"))
	case *types.AttributeValueMemberBS:
		b.Write(bytes.Join(v.Value, []byte("\n")))
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			appendAttr(b, "", e)
		}
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			appendAttr(b, k, e)
		}
	}
	b.WriteByte('\n')
}

// do sends a JSON request to the stack's API with an API key and decodes
// the answer into out.
func (s *awsStack) do(t *testing.T, path, key string, body any, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("answer %d %s: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode
}
