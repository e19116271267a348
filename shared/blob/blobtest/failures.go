package blobtest

import (
	"context"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// hangDeadline and hangSlack bound the hanging-endpoint case: the call must
// return within hangDeadline+hangSlack.
const (
	hangDeadline = 1 * time.Second
	hangSlack    = 750 * time.Millisecond
)

// runFailures runs the cases for the failures the harness can produce.
func runFailures(t *testing.T, h Harness) {
	type failure struct {
		name string
		open func(t *testing.T) blob.Bucket
		want blob.Code
	}
	var fs []failure
	if h.MissingBucket != nil {
		fs = append(fs, failure{"MissingBucket", h.MissingBucket, blob.NotFound})
	}
	if h.WrongSecret != nil {
		fs = append(fs, failure{"WrongSecret", h.WrongSecret, blob.SignatureMismatch})
	}
	if h.UnknownKey != nil {
		fs = append(fs, failure{"UnknownKey", h.UnknownKey, blob.InvalidAccessKey})
	}
	for _, f := range fs {
		t.Run(f.name, func(t *testing.T) {
			b := f.open(t)
			_, err := b.List(ctx(t), "", 10)
			wantCode(t, describe("List", f.want), err, f.want)
			wantCode(t, describe("Put", f.want), b.Put(ctx(t), "k", []byte("x")), f.want)
			_, err = b.ReadRange(ctx(t), "k", 1)
			wantCode(t, describe("ReadRange", f.want), err, f.want)
			wantCode(t, describe("Delete", f.want), b.Delete(ctx(t), "k"), f.want)
		})
	}
	if h.WrongRegion != nil {
		t.Run("WrongRegion", func(t *testing.T) {
			b, region := h.WrongRegion(t)
			_, err := b.List(ctx(t), "", 10)
			be := wantCode(t, "List in the wrong region", err, blob.WrongRegion)
			if be.Region != region {
				t.Errorf("List in the wrong region: Region %q, want %q", be.Region, region)
			}
			be = wantCode(t, "Put in the wrong region", b.Put(ctx(t), "k", []byte("x")), blob.WrongRegion)
			if be.Region != region {
				t.Errorf("Put in the wrong region: Region %q, want %q", be.Region, region)
			}
		})
	}
	if h.Hanging != nil {
		t.Run("Hanging", func(t *testing.T) {
			b := h.Hanging(t)
			c, cancel := context.WithTimeout(t.Context(), hangDeadline)
			defer cancel()
			start := time.Now()
			_, err := b.List(c, "", 10)
			elapsed := time.Since(start)
			wantCode(t, "List on a hanging endpoint", err, blob.Timeout)
			if elapsed > hangDeadline+hangSlack {
				t.Errorf("List on a hanging endpoint took %s, want at most %s", elapsed, hangDeadline+hangSlack)
			}
		})
	}
}
