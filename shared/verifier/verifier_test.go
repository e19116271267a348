package verifier

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestFederatedToken checks the values of AzureFederatedToken.
func TestFederatedToken(t *testing.T) {
	for v, want := range map[string]bool{"": false, "aws-sts": true, "file:/run/token": true} {
		a, err := federatedToken(aws.Config{}, Options{AzureFederatedToken: v})
		if err != nil || (a != nil) != want {
			t.Errorf("%q: assertion %v, %v; want one: %v", v, a != nil, err, want)
		}
	}
	for _, v := range []string{"file:", "sts", "/run/token"} {
		if _, err := federatedToken(aws.Config{}, Options{AzureFederatedToken: v}); err == nil {
			t.Errorf("%q: no error", v)
		}
	}
}
