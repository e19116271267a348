package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/store"
)

// runRotate covers credential rotation as the API does it (a PATCH with
// new credentials, package httpapi): the new sealed credentials and
// settings replace the stored ones in one UpdateConfig, conditional on
// the version read. Of two rotations from the same read exactly one is
// stored, whole: its envelope opens to its credentials, next to its
// settings; the other gets ErrConflict and writes nothing.
func runRotate(t *testing.T, open opener) {
	t.Run("ReplacesSettingsAndEnvelope", func(t *testing.T) {
		s := open(t)
		sealer := newSealer(t)
		c := NewConfig(newOrg(t, s))
		c.Sealed = sealCreds(t, sealer, c, "old")
		mustCreate(t, s, c)

		u := mustGet(t, s, c.UID)
		u.Sealed = sealCreds(t, sealer, u, "new")
		u.Settings = &s3.Settings{BucketName: "moved-bucket", Region: "us-east-2", KeyPrefix: "p/",
			Auth: s3.AuthIAMRole, RoleARN: "arn:aws:iam::123456789012:role/new"}
		if err := s.UpdateConfig(context.Background(), u); err != nil {
			t.Fatalf("rotate: %v", err)
		}
		got := mustGet(t, s, c.UID)
		wantConfig(t, got, u)
		if key := openCreds(t, sealer, got); key != "new" {
			t.Errorf("the stored envelope opens to %q, want the new credentials", key)
		}
		if bytes.Equal(got.Sealed, c.Sealed) {
			t.Error("the old envelope is still stored")
		}
	})

	t.Run("StaleRotationWritesNothing", func(t *testing.T) {
		s := open(t)
		sealer := newSealer(t)
		c := NewConfig(newOrg(t, s))
		c.Sealed = sealCreds(t, sealer, c, "old")
		mustCreate(t, s, c)
		stale := mustGet(t, s, c.UID)
		renamed := mustGet(t, s, c.UID)
		renamed.Name = "renamed meanwhile"
		if err := s.UpdateConfig(context.Background(), renamed); err != nil {
			t.Fatalf("rename: %v", err)
		}
		stale.Sealed = sealCreds(t, sealer, stale, "new")
		stale.Settings = &s3.Settings{BucketName: "moved-bucket", Auth: s3.AuthAccessKey}
		wantCode(t, s.UpdateConfig(context.Background(), stale), errcode.ErrConflict, "rotation from a stale read")
		got := mustGet(t, s, c.UID)
		wantConfig(t, got, renamed)
		if key := openCreds(t, sealer, got); key != "old" {
			t.Errorf("after a refused rotation the envelope opens to %q, want the old credentials", key)
		}
	})

	t.Run("RaceOfTwoOneWins", func(t *testing.T) { testRotationRace(t, open(t)) })
}

// testRotationRace starts two rotations of one config from the same read
// at once, each with its own credentials and bucket, round after round.
func testRotationRace(t *testing.T, s store.Store) {
	sealer := newSealer(t)
	org := newOrg(t, s)
	for round := range 10 {
		c := NewConfig(org)
		c.Sealed = sealCreds(t, sealer, c, "old")
		mustCreate(t, s, c)
		read := mustGet(t, s, c.UID)
		tries := []*storageconfig.Config{clone(read), clone(read)}
		for i, u := range tries {
			u.Sealed = sealCreds(t, sealer, u, fmt.Sprintf("writer-%d", i))
			u.Settings = &s3.Settings{BucketName: fmt.Sprintf("bucket-of-writer-%d", i), Auth: s3.AuthAccessKey}
		}
		won := raceOnce(t, fmt.Sprintf("round %d: rotation", round), errcode.ErrConflict,
			func() error { return s.UpdateConfig(context.Background(), tries[0]) },
			func() error { return s.UpdateConfig(context.Background(), tries[1]) })
		got := mustGet(t, s, c.UID)
		wantConfig(t, got, tries[won])
		want := fmt.Sprintf("writer-%d", won)
		if key := openCreds(t, sealer, got); key != want || got.Bucket() != "bucket-of-"+want {
			t.Fatalf("round %d: stored credentials %q with bucket %q, want the winner's (%s) both", round, key, got.Bucket(), want)
		}
	}
}

// newSealer is a local sealer with a fresh master key.
func newSealer(t *testing.T) seal.Sealer {
	t.Helper()
	sl, err := localseal.Open(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	return sl
}

// sealCreds seals S3 credentials whose secret is key, bound to c.
func sealCreds(t *testing.T, sl seal.Sealer, c *storageconfig.Config, key string) []byte {
	t.Helper()
	plain, err := json.Marshal(s3.KeyCredentials("AKIAEXAMPLE", key))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sl.Seal(context.Background(), plain, seal.Binding{OrgID: c.OrgID, ConfigUID: c.UID})
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	return b
}

// openCreds opens c's stored envelope and returns its secret.
func openCreds(t *testing.T, sl seal.Sealer, c *storageconfig.Config) string {
	t.Helper()
	creds, err := storageconfig.OpenCredentials(context.Background(), sl, c)
	if err != nil {
		t.Fatalf("open the stored envelope: %v", err)
	}
	_, secret := s3.Keys(creds)
	return secret
}

// raceOnce runs writes at once (released together) and returns the index
// of the one that succeeded; every other must fail matching loses. It
// fails t unless exactly one succeeded.
func raceOnce(t *testing.T, what string, loses error, writes ...func() error) int {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(writes))
	for i, w := range writes {
		wg.Go(func() {
			<-start
			errs[i] = w()
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won == -1:
			won = i
		case err == nil:
			t.Fatalf("%s: writes %d and %d both succeeded", what, won, i)
		case !errors.Is(err, loses):
			t.Fatalf("%s: write %d: got %v, want success or %v", what, i, err, loses)
		}
	}
	if won == -1 {
		t.Fatalf("%s: no write succeeded: %v", what, errs)
	}
	return won
}
