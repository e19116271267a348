package provider_test

import (
	"testing"

	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// TestRegistry checks what the providers must agree on: unique names,
// one kind (and write-only-ness) per shared field name, no field that
// another provider's table claims with a different Only, and bucket-verify
// mappings whose storageProvider values are unique and whose fields are
// each provider's own.
func TestRegistry(t *testing.T) {
	names := map[string]bool{}
	fields := map[string]contract.Field{}
	storageProviders := map[string]string{}
	for _, p := range provider.All {
		if names[p.Name()] {
			t.Errorf("provider %s is listed twice", p.Name())
		}
		names[p.Name()] = true
		if got, ok := provider.Lookup(p.Name()); !ok || got.Name() != p.Name() {
			t.Errorf("Lookup(%s) = %v, %v", p.Name(), got, ok)
		}
		for _, f := range p.Fields() {
			if prev, ok := fields[f.Name]; ok && prev != f {
				t.Errorf("field %s is %+v for one provider and %+v for %s", f.Name, prev, f, p.Name())
			}
			fields[f.Name] = f
		}
		bv := p.BucketVerify()
		if bv == nil {
			continue
		}
		if other, dup := storageProviders[bv.StorageProvider]; dup {
			t.Errorf("storageProvider %q maps to %s and %s", bv.StorageProvider, other, p.Name())
		}
		storageProviders[bv.StorageProvider] = p.Name()
		for f := range bv.Fields {
			if !provider.Accepts(p, f) {
				t.Errorf("%s maps field %s, which it does not accept", p.Name(), f)
			}
		}
	}
	if _, ok := provider.Lookup("dropbox"); ok {
		t.Error("Lookup finds a provider that is not registered")
	}
	// The wire order: documented fields first, write-only last.
	seenAdded, seenSecret := false, false
	for _, f := range provider.Fields() {
		switch {
		case f.WriteOnly:
			seenSecret = true
		case f.Documented && (seenAdded || seenSecret):
			t.Errorf("documented field %s comes after an added one", f.Name)
		case !f.Documented:
			seenAdded = true
			if seenSecret {
				t.Errorf("field %s comes after a write-only one", f.Name)
			}
		}
	}
}
