package main

import (
	"reflect"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
)

// TestWatchedBucketsHaveTheDriversMethods checks that the bucket progress
// watches has every method of the driver it wraps (so every optional
// interface of blob the driver implements, today and after), and that
// watchBucket picks the watched type of each driver.
func TestWatchedBucketsHaveTheDriversMethods(t *testing.T) {
	p := newProgress(nil, false)
	for _, tc := range []struct {
		driver, watched any
	}{
		{&s3blob.Bucket{}, &watchedS3{}},
		{&gcsblob.Bucket{}, &watchedGCS{}},
		{&azureblob.Bucket{}, &watchedAzure{}},
	} {
		d, w := reflect.TypeOf(tc.driver), reflect.TypeOf(tc.watched)
		for i := range d.NumMethod() {
			m := d.Method(i)
			wm, ok := w.MethodByName(m.Name)
			if !ok {
				t.Errorf("%v lacks %s of %v", w, m.Name, d)
				continue
			}
			if wm.Type.NumIn() != m.Type.NumIn() || wm.Type.NumOut() != m.Type.NumOut() {
				t.Errorf("%v.%s has another signature than %v's", w, m.Name, d)
			}
		}
		if got := reflect.TypeOf(watchBucket(tc.driver.(blob.Bucket), p)); got != w {
			t.Errorf("watchBucket(%v) is a %v, want %v", d, got, w)
		}
	}
}
