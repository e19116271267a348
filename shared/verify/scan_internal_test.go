package verify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/verification"
)

func objects(keys ...string) []blob.Object {
	out := make([]blob.Object, 0, len(keys))
	for i, k := range keys {
		out = append(out, blob.Object{Key: k, Size: int64(i + 1)})
	}
	return out
}

func keysOf(objs []blob.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func TestScan(t *testing.T) {
	tests := []struct {
		name       string
		objs       []blob.Object
		k          int
		wantKeys   []string // exact, when the sample holds every eligible key
		wantFiles  int
		wantLabels bool
	}{
		{name: "empty", k: 10, wantKeys: []string{}},
		{
			name: "ineligible keys left out",
			objs: objects("p/.bucketlink-verify-1", "p/.bucketlink-cors-test-2", "p/dir/", "p/b.json", "p/a.json"),
			k:    10, wantKeys: []string{"p/a.json", "p/b.json"}, wantFiles: 2,
		},
		{
			name: "labels file at depth",
			objs: objects("p/a.json", "p/x/y/info.labels"),
			k:    10, wantKeys: []string{"p/a.json", "p/x/y/info.labels"}, wantFiles: 2, wantLabels: true,
		},
		{
			name: "labels file at the top",
			objs: objects("info.labels"),
			k:    10, wantKeys: []string{"info.labels"}, wantFiles: 1, wantLabels: true,
		},
		{
			name: "near misses are not labels files",
			objs: objects("p/info.labels.bak", "p/not-info.labels", "p/info.labels/", "p/info.labelsx", "p/.bucketlink-verify-info.labels"),
			k:    10, wantKeys: []string{"p/info.labels.bak", "p/info.labelsx", "p/not-info.labels"}, wantFiles: 3,
		},
		{
			name: "at most k",
			objs: objects("a", "b", "c", "d", "e", "f"),
			k:    3, wantFiles: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scan(tt.objs, tt.k, rand.New(rand.NewPCG(1, 2)).IntN)
			got := keysOf(s.sample)
			if tt.wantKeys != nil && !slices.Equal(got, tt.wantKeys) {
				t.Errorf("sample = %v, want %v", got, tt.wantKeys)
			}
			if len(got) > tt.k || !slices.IsSorted(got) {
				t.Errorf("sample = %v, want at most %d keys, sorted", got, tt.k)
			}
			for _, o := range s.sample {
				if i := slices.IndexFunc(tt.objs, func(x blob.Object) bool { return x == o }); i < 0 {
					t.Errorf("sampled %+v, which was not listed", o)
				}
			}
			if s.files != tt.wantFiles || s.hasInfoLabels != tt.wantLabels {
				t.Errorf("files, hasInfoLabels = %d, %v; want %d, %v", s.files, s.hasInfoLabels, tt.wantFiles, tt.wantLabels)
			}
		})
	}
}

// TestScanUniform proves the sample is uniform: over many draws of 5 of 20
// keys, every key is drawn about a quarter of the time (the tolerance is
// more than 5 standard deviations).
func TestScanUniform(t *testing.T) {
	const n, k, trials = 20, 5, 20000
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	objs := objects(keys...)
	rng := rand.New(rand.NewPCG(7, 11))
	counts := map[string]int{}
	for range trials {
		s := scan(objs, k, rng.IntN)
		if len(s.sample) != k {
			t.Fatalf("sample of %d, want %d", len(s.sample), k)
		}
		for _, o := range s.sample {
			counts[o.Key]++
		}
	}
	want := trials * k / n
	for _, key := range keys {
		if c := counts[key]; c < want-350 || c > want+350 {
			t.Errorf("%s drawn %d times, want about %d", key, c, want)
		}
	}
}

func TestFiles(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		objs   []blob.Object
		want   []verification.File
	}{
		{name: "under a prefix", prefix: "data/",
			objs: []blob.Object{{Key: "data/a.jpg", Size: 1}, {Key: "data/img/b.jpg", Size: 2}, {Key: "data/x/y/info.labels", Size: 3}},
			want: []verification.File{{Name: "a.jpg", Size: 1}, {Name: "b.jpg", Size: 2, FolderName: "img/"}, {Name: "info.labels", Size: 3, FolderName: "x/y/"}}},
		{name: "no prefix", objs: []blob.Object{{Key: "a.jpg"}, {Key: "img/b.jpg", Size: 5}},
			want: []verification.File{{Name: "a.jpg"}, {Name: "b.jpg", Size: 5, FolderName: "img/"}}},
		{name: "none", prefix: "p/", want: []verification.File{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := files(tt.prefix, tt.objs); !slices.Equal(got, tt.want) {
				t.Errorf("files = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestScanNote(t *testing.T) {
	if got := scanNote(3, 1000, false, "p/"); got != `Listed 3 objects under prefix "p/".` {
		t.Errorf("scanNote = %q", got)
	}
	if got := scanNote(20, 20, true, ""); !strings.HasSuffix(got, "the bucket (the scan stops at 20 keys).") {
		t.Errorf("scanNote of a capped scan = %q", got)
	}
}
