package s3blob_test

import (
	"net/http"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

func TestMayWriteOnMinIO(t *testing.T) {
	m := testenv.SharedMinIO(t)
	bucket := testenv.BucketName(t, "maywrite")
	m.CreateBucket(t, bucket)
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{name: "read-write user", policy: testenv.ReadWritePolicy(bucket), want: true},
		{name: "read-only user", policy: testenv.PolicyFor(bucket, "s3:GetObject"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := userBucket(t, m, bucket, tt.policy)
			got, err := b.MayWrite(t.Context(), "data/.bucketlink-verify-x")
			if err != nil || got != tt.want {
				t.Fatalf("MayWrite = %v, %v; want %v", got, err, tt.want)
			}
			if keys := m.ListKeys(t, bucket, ""); len(keys) != 0 {
				t.Fatalf("MayWrite left %v", keys)
			}
		})
	}
}

// TestMayWriteTakesBackAStoredObject: a store that ignores Content-MD5 (a
// loopback stand-in; AWS and MinIO check it) stores the object, which
// MayWrite deletes again.
func TestMayWriteTakesBackAStoredObject(t *testing.T) {
	var deleted bool
	b, _ := replayBucket(t, func(r *http.Request) awsAnswer {
		switch r.Method {
		case http.MethodPut:
			return awsAnswer{status: http.StatusOK, header: map[string]string{"ETag": `"x"`}}
		case http.MethodDelete:
			deleted = true
			return awsAnswer{status: http.StatusNoContent}
		}
		t.Errorf("unexpected %s %s", r.Method, r.URL)
		return accessDenied
	})
	if ok, err := b.MayWrite(t.Context(), "k"); !ok || err != nil || !deleted {
		t.Fatalf("MayWrite = %v, %v, deleted %v; want true, nil, deleted", ok, err, deleted)
	}
}
