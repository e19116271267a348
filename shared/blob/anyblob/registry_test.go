package anyblob_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// TestEveryProviderHasAnOpener: the registry (package provider) and the
// openers of Opener name the same providers, so that a registered
// provider can always be verified.
func TestEveryProviderHasAnOpener(t *testing.T) {
	got := (&anyblob.Opener{HTTPClient: &http.Client{}}).Providers()
	var want []storageconfig.Provider
	for _, p := range provider.All {
		want = append(want, storageconfig.Provider(p.Name()))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("openers for %v, registered providers %v", got, want)
	}
}
