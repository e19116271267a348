package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// seed stores n configs in org directly (no bucket checks), one microsecond
// apart starting at t0, and returns their uids newest first.
func (e *env) seed(t testing.TB, org string, n int, t0 time.Time) []string {
	t.Helper()
	uids := make([]string, n)
	for i := range n {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		c := &storageconfig.Config{
			UID: uuid.NewString(), OrgID: e.orgs[org].ID, Name: fmt.Sprintf("seed %d", i),
			Provider:   s3.NameAWS,
			IsVerified: true, LastVerifiedAt: ts,
			CreatedAt: ts, UpdatedAt: ts, Version: 1, Sealed: []byte("sealed"), Settings: &s3.Settings{BucketName: "acme-datasets", Region: "us-west-2", Auth: s3.AuthAccessKey},
		}
		if err := e.store.CreateConfig(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		uids[n-1-i] = c.UID
	}
	return uids
}

type listPage struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []struct {
		UID string `json:"uid"`
	} `json:"results"`
}

func (e *env) page(t *testing.T, path, key string) listPage {
	t.Helper()
	r := e.do("GET", path, key, nil)
	wantStatus(t, r, http.StatusOK)
	var p listPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListPagingBothWaysWhileChanging pages through 1,000 configs forward
// and back while configs are created and deleted, and checks that every
// config that existed throughout is seen exactly once, in order.
func TestListPagingBothWaysWhileChanging(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	key := e.keys["acme/viewer"]
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	uids := e.seed(t, "acme", 1000, t0)
	e.seed(t, "other", 5, t0) // never visible to acme

	deleted := map[string]bool{}
	var forward []string
	p := e.page(t, base+"?limit=100", key)
	if p.Previous != nil {
		t.Errorf("first page has previous = %s", *p.Previous)
	}
	var last listPage
	for i := 0; ; i++ {
		for _, r := range p.Results {
			forward = append(forward, r.UID)
		}
		// Churn: a new config on top, and delete one not yet visited.
		e.seed(t, "acme", 1, time.Now().UTC())
		if victim := uids[len(uids)-1-i*7]; i < 9 {
			if r := e.do("DELETE", base+victim+"/", e.keys["acme/admin"], nil); r.Status == http.StatusNoContent {
				deleted[victim] = true
			}
		}
		if p.Next == nil {
			last = p
			break
		}
		if !strings.HasPrefix(*p.Next, "http://") || !strings.Contains(*p.Next, "limit=100") {
			t.Fatalf("next is not an absolute URL keeping limit: %s", *p.Next)
		}
		p = e.page(t, *p.Next, key)
	}
	want := make([]string, 0, len(uids))
	for _, u := range uids {
		if !deleted[u] {
			want = append(want, u)
		}
	}
	if strings.Join(forward, ",") != strings.Join(want, ",") {
		t.Fatalf("forward pages: got %d uids, want %d in order", len(forward), len(want))
	}
	if len(deleted) == 0 {
		t.Fatal("churn deleted nothing")
	}

	// Back again from the last page, through previous links.
	var backward []string
	p = last
	for p.Previous != nil {
		p = e.page(t, *p.Previous, key)
		backward = append(p.resultUIDs(), backward...)
	}
	backward = append(backward, last.resultUIDs()...)
	// The walk back ends at the newest configs, which now include the ones
	// created during the forward walk; those sit above the seeded ones.
	trimmed := backward[len(backward)-len(want):]
	if strings.Join(trimmed, ",") != strings.Join(want, ",") {
		t.Fatalf("backward pages differ from forward ones")
	}
	seen := map[string]bool{}
	for _, u := range backward {
		if seen[u] {
			t.Fatalf("uid %s seen twice going back", u)
		}
		seen[u] = true
	}
}

func (p listPage) resultUIDs() []string {
	out := make([]string, len(p.Results))
	for i, r := range p.Results {
		out[i] = r.UID
	}
	return out
}

func TestListCursorAndLimitErrors(t *testing.T) {
	e := newEnv(t, 3*time.Second)
	e.seed(t, "acme", 30, time.Now().UTC())
	e.seed(t, "other", 30, time.Now().UTC())
	key := e.keys["acme/viewer"]
	p := e.page(t, base, key)
	if len(p.Results) != 20 || p.Next == nil {
		t.Fatalf("default page: %d results, next %v", len(p.Results), p.Next)
	}
	if p := e.page(t, base+"?limit=1000", key); len(p.Results) != 30 {
		t.Errorf("limit=1000 gave %d results, want all 30 (clamped to 100)", len(p.Results))
	}
	next, _ := url.Parse(*p.Next)
	cursor := next.Query().Get("cursor")

	other := e.page(t, base, e.keys["other/viewer"])
	otherNext, _ := url.Parse(*other.Next)
	foreign := otherNext.Query().Get("cursor")

	tampered := []byte(cursor)
	tampered[3] ^= 0x01
	for name, c := range map[string]string{
		"tampered": string(tampered), "foreign org": foreign, "garbage": "abc", "no signature": strings.Split(cursor, ".")[0],
	} {
		t.Run(name, func(t *testing.T) {
			wantFields(t, e.do("GET", base+"?cursor="+url.QueryEscape(c), key, nil), map[string]string{"cursor": "Invalid cursor"})
		})
	}
	for _, l := range []string{"0", "-1", "ten"} {
		wantFields(t, e.do("GET", base+"?limit="+l, key, nil), map[string]string{"limit": "whole number"})
	}
}
