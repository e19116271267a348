package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// TestServeReverifies runs the in-process re-verification scheduler of
// `bucketlink serve` with a short period and a clock the test moves: a
// config whose MinIO user loses its policy reads is_verified false after
// the next due run, with one change event; the policy restored, it flips
// back with a second event.
func TestServeReverifies(t *testing.T) {
	m := testenv.StartMinIO(t)
	var offset atomic.Int64
	var bus changeevents.Bus
	events, unsubscribe := bus.Subscribe()
	defer unsubscribe()
	serveClock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	serveEvents = &bus
	t.Cleanup(func() { serveClock, serveEvents = nil, nil })
	t.Setenv("BUCKETLINK_ALLOW_PRIVATE_ENDPOINTS", "true")
	t.Setenv("BUCKETLINK_REVERIFY_PERIOD", "50ms")

	data := filepath.Join(t.TempDir(), "data")
	base, _ := startServe(t, data)
	key, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base + "/api/v1/storage-configs/", key: strings.TrimSpace(string(key))}

	bucket := testenv.BucketName(t, "reverify")
	m.CreateBucket(t, bucket)
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	policy := testenv.ReadWritePolicy(bucket)
	m.AddUser(t, ak, sk, policy)
	var created map[string]any
	c.do("POST", "", map[string]any{
		"name": "MinIO " + bucket, "provider": "s3_compatible", "s3_endpoint_url": m.Endpoint,
		"s3_bucket_name": bucket, "s3_bucket_prefix": "data", "s3_access_key_id": ak, "s3_secret_access_key": sk,
		"reverify_interval_seconds": 900,
	}, http.StatusCreated, &created)
	uid, _ := created["uid"].(string)
	if uid == "" || created["is_verified"] != true {
		t.Fatalf("created = %v", created)
	}
	// Not due yet: runs go by, nothing changes.
	time.Sleep(200 * time.Millisecond)
	expectNoChange(t, events)

	steps := []struct {
		name  string
		setup func()
		want  bool
	}{
		{"policy detached", func() { m.DetachUserPolicy(t, ak) }, false},
		{"policy restored", func() { m.SetUserPolicy(t, ak, policy) }, true},
	}
	for _, step := range steps {
		step.setup()
		offset.Add(int64(16 * time.Minute)) // past the interval, and past a failure's backoff
		var ch changeevents.Change
		select {
		case ch = <-events:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: no change event", step.name)
		}
		if ch.UID != uid || ch.New != step.want || ch.Previous == step.want || ch.Trigger != "schedule" || ch.Organization == "" {
			t.Errorf("%s: change = %+v", step.name, ch)
		}
		var got map[string]any
		c.do("GET", uid+"/", nil, http.StatusOK, &got)
		if got["is_verified"] != step.want {
			t.Errorf("%s: is_verified = %v, want %v", step.name, got["is_verified"], step.want)
		}
		// Until the clock moves again, the config is not due: no second
		// event.
		time.Sleep(200 * time.Millisecond)
		expectNoChange(t, events)
	}
}

func expectNoChange(t *testing.T, events <-chan changeevents.Change) {
	t.Helper()
	select {
	case ch := <-events:
		t.Errorf("unexpected change %+v", ch)
	default:
	}
}
