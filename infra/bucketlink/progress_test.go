package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// bareBucket is a blob.Bucket with none of the optional interfaces; it is
// never called (the test only type-asserts).
type bareBucket struct{ blob.Bucket }

type versionedBucket struct{ bareBucket }

func (versionedBucket) PutVersion(context.Context, string, []byte) (blob.Written, error) {
	return blob.Written{Version: "v1"}, nil
}
func (versionedBucket) DeleteVersion(context.Context, string, string) error { return nil }

type locatedBucket struct{ bareBucket }

func (locatedBucket) Region() string { return "eu-west-1" }

type versionedLocatedBucket struct{ versionedBucket }

func (versionedLocatedBucket) Region() string { return "eu-west-1" }

// TestWatchBucketKeepsOptionalInterfaces checks that progress's bucket
// has exactly the optional interfaces of the driver's, so the verifier
// behaves as it does in the API, and that it reports PutVersion and
// DeleteVersion as the write and delete checks.
func TestWatchBucketKeepsOptionalInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name              string
		b                 blob.Bucket
		versions, located bool
	}{
		{"bare", bareBucket{}, false, false},
		{"versions", versionedBucket{}, true, false},
		{"located", locatedBucket{}, false, true},
		{"both", versionedLocatedBucket{}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out, false)
			w := watchBucket(tc.b, p)
			v, versions := w.(blob.Versions)
			l, located := w.(blob.Located)
			if versions != tc.versions || located != tc.located {
				t.Fatalf("watched bucket: Versions %v Located %v, want %v %v", versions, located, tc.versions, tc.located)
			}
			if located && l.Region() != "eu-west-1" {
				t.Errorf("Region() = %q", l.Region())
			}
			if versions {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if got, err := v.PutVersion(ctx, "k", nil); err != nil || got.Version != "v1" {
					t.Errorf("PutVersion = %v, %v", got, err)
				}
				if err := v.DeleteVersion(ctx, "k", "v1"); err != nil {
					t.Error(err)
				}
				if want := "  write: started\n  write: answered\n  delete: started\n  delete: answered\n"; out.String() != want {
					t.Errorf("progress = %q, want %q", out.String(), want)
				}
			}
		})
	}
}
