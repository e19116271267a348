package awsapp_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/awsapp"
)

// TestLoadConfigAppOrigins checks BUCKETLINK_APP_ORIGINS: comma-separated
// origins, serialized as a browser sends them; a bad one names the
// variable without echoing it.
func TestLoadConfigAppOrigins(t *testing.T) {
	c, err := awsapp.LoadConfig(env(nil))
	if err != nil || c.AppOrigins != nil {
		t.Fatalf("unset: %v, %v; want none", c.AppOrigins, err)
	}
	c, err = awsapp.LoadConfig(env(map[string]string{awsapp.EnvAppOrigins: "https://Studio.example.com:443, http://localhost:5173"}))
	want := []string{"https://studio.example.com", "http://localhost:5173"}
	if err != nil || !reflect.DeepEqual(c.AppOrigins, want) {
		t.Fatalf("AppOrigins = %q, %v; want %q", c.AppOrigins, err, want)
	}
	const bad = "https://studio.example.com/app-s3cr3t"
	_, err = awsapp.LoadConfig(env(map[string]string{awsapp.EnvAppOrigins: bad}))
	if err == nil || !strings.Contains(err.Error(), awsapp.EnvAppOrigins) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("a path: %v; want an error naming %s, without the value", err, awsapp.EnvAppOrigins)
	}
}
