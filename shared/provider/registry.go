// Package provider is the registry of storage providers: the only list of
// them. Each provider is a package (see package contract for what it
// implements); adding one is a line in All, its package, and its opener's
// line in package anyblob.
package provider

import (
	"slices"

	"github.com/bucketlink/bucketlink/shared/provider/azure"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
	"github.com/bucketlink/bucketlink/shared/provider/gcs"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

// All lists the providers, in the order their fields are written on the
// wire.
var All = []contract.Provider{
	s3.AWS,
	s3.Compatible,
	gcs.Provider,
	azure.Provider,
}

// Lookup returns the provider named name (its wire name).
func Lookup(name string) (contract.Provider, bool) {
	i := slices.IndexFunc(All, func(p contract.Provider) bool { return p.Name() == name })
	if i < 0 {
		return nil, false
	}
	return All[i], true
}

// Fields returns every provider field once, in wire order: the
// documented fields first, then the additions; write-only fields last.
func Fields() []contract.Field {
	var documented, added, secret []contract.Field
	seen := map[string]bool{}
	for _, p := range All {
		for _, f := range p.Fields() {
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			switch {
			case f.WriteOnly:
				secret = append(secret, f)
			case f.Documented:
				documented = append(documented, f)
			default:
				added = append(added, f)
			}
		}
	}
	return slices.Concat(documented, added, secret)
}

// Accepts reports whether p takes the request field name.
func Accepts(p contract.Provider, name string) bool {
	for _, f := range p.Fields() {
		if f.Name == name {
			return f.Only == "" || f.Only == p.Name()
		}
	}
	return false
}

// ByStorageProvider returns the provider the bucket-verify API calls
// storageProvider.
func ByStorageProvider(sp string) (contract.Provider, *contract.BucketVerify, bool) {
	for _, p := range All {
		if bv := p.BucketVerify(); bv != nil && bv.StorageProvider == sp {
			return p, bv, true
		}
	}
	return nil, nil, false
}

// BucketVerifyOf returns the bucket-verify mapping of the provider named
// name, nil when that API does not serve it.
func BucketVerifyOf(name string) *contract.BucketVerify {
	if p, ok := Lookup(name); ok {
		return p.BucketVerify()
	}
	return nil
}
