package ebpub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/uuid"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub/ebpubtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPublishReachesSubscriber(t *testing.T) {
	sub := ebpubtest.Subscribe(t, testenv.SharedMoto(t))
	p, err := ebpub.New(sub.Client, sub.Bus)
	if err != nil {
		t.Fatal(err)
	}
	change := changeevents.Change{
		OrgID: 3, Organization: "acme", UID: uuid.NewString(), Previous: true, New: false,
		CheckCodes: []string{"list=access_denied"}, Trigger: "schedule", Time: time.Now().UTC().Truncate(time.Second),
	}
	if err := p.Publish(t.Context(), change); err != nil {
		t.Fatalf("publish: %v", err)
	}
	events := sub.Receive(t)
	if len(events) != 1 {
		t.Fatalf("%d events delivered, want 1", len(events))
	}
	e := events[0]
	if e.Source != "bucketlink" || e.DetailType != "Storage Config Verification Changed" {
		t.Errorf("envelope: source %q detail-type %q", e.Source, e.DetailType)
	}
	d := e.Detail
	if d.UID != change.UID || d.OrgID != 3 || d.Organization != "acme" || !d.Previous || d.New ||
		!d.Time.Equal(change.Time) || len(d.CheckCodes) != 1 || d.CheckCodes[0] != "list=access_denied" || d.Trigger != "schedule" {
		t.Errorf("detail = %+v, want %+v", d, change)
	}

	// Another bus's events do not arrive here.
	other, err := ebpub.New(sub.Client, "default")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Publish(t.Context(), change); err != nil {
		t.Fatalf("publish on the default bus: %v", err)
	}
	if got := sub.Receive(t); len(got) != 0 {
		t.Errorf("%d events from the default bus reached this bus's rule", len(got))
	}
}

func TestPublishToMissingBus(t *testing.T) {
	cfg := testenv.SharedMoto(t).AWSConfig()
	p, err := ebpub.New(eventbridge.NewFromConfig(cfg), "no-such-bus-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	err = p.Publish(context.Background(), changeevents.Change{UID: "u", Time: time.Now()})
	if err == nil {
		t.Fatal("publish to a missing bus: no error")
	}
	if !strings.Contains(err.Error(), "publish change of u") {
		t.Errorf("error %q does not say what failed", err)
	}
}

func TestNewRejects(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	for name, build := range map[string]func() (*ebpub.Publisher, error){
		"no client": func() (*ebpub.Publisher, error) { return ebpub.New(nil, "bus") },
		"no bus":    func() (*ebpub.Publisher, error) { return ebpub.New(eventbridge.NewFromConfig(cfg), "") },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := build(); err == nil {
				t.Error("New: no error")
			}
		})
	}
}
