package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// TestCreateAWSS3WithoutRegion: s3_bucket_region may be left out of an
// aws_s3 config; the region found is stored and returned.
func TestCreateAWSS3WithoutRegion(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	bucket, ak, sk := e.bucketUser(rwActions...)
	body := awsBody(bucket, ak, sk, "")
	delete(body, "s3_bucket_region")
	r := e.do("POST", base, e.keys["acme/admin"], body)
	wantStatus(t, r, http.StatusCreated)
	c := r.json(t)
	if c["s3_bucket_region"] != e.minio.Region {
		t.Fatalf("created config: %s; want s3_bucket_region %s", r.Body, e.minio.Region)
	}
	got := e.do("GET", base+c["uid"].(string)+"/", e.keys["acme/viewer"], nil).json(t)
	if got["s3_bucket_region"] != e.minio.Region {
		t.Errorf("stored config has s3_bucket_region %v", got["s3_bucket_region"])
	}
	// A wrong region still answers on s3_bucket_region, naming the right one.
	wantFields(t, e.do("POST", base, e.keys["acme/admin"], awsBody(bucket, ak, sk, "eu-west-1")),
		map[string]string{"s3_bucket_region": "set s3_bucket_region to " + e.minio.Region})
}

// TestReadOnlyConfig: access_mode on create, PATCH, the wire, test and the
// history, with MinIO users that may only read, and read and write.
func TestReadOnlyConfig(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	admin, member, viewer := e.keys["acme/admin"], e.keys["acme/member"], e.keys["acme/viewer"]
	bucket, ak, sk := e.bucketUser("s3:GetObject")
	e.minio.PutObject(t, bucket, "data/a.json", []byte("{}"))

	body := e.compatBody(bucket, ak, sk)
	body["access_mode"] = "sometimes"
	wantFields(t, e.do("POST", base, admin, body), map[string]string{"access_mode": "read_only"})

	// A read-only user cannot make a read_write config...
	delete(body, "access_mode")
	wantFields(t, e.do("POST", base, admin, body), map[string]string{"s3_access_key_id": "s3:PutObject"})
	// ...but a read_only one, whose write checks are skipped.
	body["access_mode"] = "read_only"
	r := e.do("POST", base, admin, body)
	wantStatus(t, r, http.StatusCreated)
	c := r.json(t)
	uid := c["uid"].(string)
	if c["access_mode"] != "read_only" || c["is_verified"] != true {
		t.Fatalf("created: %s", r.Body)
	}
	h := e.history(t, base+uid+"/verifications/", viewer)
	if len(h.Results) != 1 || !h.Results[0].Verified || h.Results[0].Checks[2].Code != "skipped" || h.Results[0].Checks[3].Code != "skipped" {
		t.Fatalf("history after create: %+v", h.Results)
	}
	tr := e.do("POST", base+uid+"/test/", member, nil).json(t)
	if tr["verified"] != true {
		t.Fatalf("test of the read-only config: %v", tr)
	}

	// To read_write: not verified until a test shows writing works.
	p := e.do("PATCH", base+uid+"/", admin, map[string]any{"access_mode": "read_write"})
	wantStatus(t, p, http.StatusOK)
	if pc := p.json(t); pc["access_mode"] != "read_write" || pc["is_verified"] != false {
		t.Fatalf("after PATCH to read_write: %s", p.Body)
	}
	if tr := e.do("POST", base+uid+"/test/", member, nil).json(t); tr["verified"] != false {
		t.Fatalf("test of the read_write config with a read-only user: %v", tr)
	}
	// Back to read_only (null is read_write, the default).
	wantStatus(t, e.do("PATCH", base+uid+"/", admin, map[string]any{"access_mode": "read_only"}), http.StatusOK)
	if tr := e.do("POST", base+uid+"/test/", member, nil).json(t); tr["verified"] != true {
		t.Fatalf("test after PATCH back to read_only: %v", tr)
	}
	h = e.history(t, base+uid+"/verifications/?limit=2", viewer)
	if len(h.Results) != 2 || !h.Results[0].Verified || h.Results[0].Checks[2].Code != "skipped" || h.Results[1].Verified {
		t.Fatalf("history: %+v", h.Results)
	}
	if pc := e.do("PATCH", base+uid+"/", admin, map[string]any{"access_mode": nil}).json(t); pc["access_mode"] != "read_write" {
		t.Fatalf("PATCH access_mode null: %v", pc)
	}
	wantFields(t, e.do("PATCH", base+uid+"/", admin, map[string]any{"access_mode": "write_only"}), map[string]string{"access_mode": "read_write"})
}
