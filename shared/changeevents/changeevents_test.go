package changeevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/verification"
)

func sample(uid string) changeevents.Change {
	return changeevents.Change{
		OrgID: 7, Organization: "acme", UID: uid, Previous: true, New: false,
		CheckCodes: []string{"list=access_denied", "read=skipped"}, Trigger: "schedule",
		Time: time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC),
	}
}

func TestChangeJSON(t *testing.T) {
	b, err := json.Marshal(sample("u1"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"organization_id": float64(7), "organization": "acme", "uid": "u1",
		"previous_is_verified": true, "is_verified": false,
		"check_codes": []any{"list=access_denied", "read=skipped"}, "trigger": "schedule",
		"time": "2025-06-01T12:00:00.123456Z",
	}
	if got, wantKeys := slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, wantKeys) {
		t.Fatalf("detail keys %v, want %v", got, wantKeys)
	}
	for k, v := range want {
		if gb, _ := json.Marshal(m[k]); string(gb) != string(must(json.Marshal(v))) {
			t.Errorf("%s = %s, want %v", k, gb, v)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestCheckCodes(t *testing.T) {
	tests := []struct {
		name   string
		checks []verification.Check
		want   []string
	}{
		{"none", nil, []string{}},
		{"in order", []verification.Check{{Name: "list", Code: "ok", Message: "m"}, {Name: "write", Code: "access_denied"}},
			[]string{"list=ok", "write=access_denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changeevents.CheckCodes(tt.checks)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("CheckCodes = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLogPublisherWritesOneJSONLine(t *testing.T) {
	var buf bytes.Buffer
	p := changeevents.LogPublisher{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := p.Publish(context.Background(), sample("u1")); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1: %s", len(lines), buf.Bytes())
	}
	var line struct {
		Msg        string              `json:"msg"`
		Source     string              `json:"source"`
		DetailType string              `json:"detail_type"`
		Detail     changeevents.Change `json:"detail"`
	}
	if err := json.Unmarshal(lines[0], &line); err != nil {
		t.Fatalf("line is not JSON: %v: %s", err, lines[0])
	}
	want := sample("u1")
	if line.Msg != changeevents.DetailType || line.Source != "bucketlink" || line.DetailType != changeevents.DetailType ||
		line.Detail.UID != want.UID || line.Detail.New != want.New || !line.Detail.Time.Equal(want.Time) ||
		!slices.Equal(line.Detail.CheckCodes, want.CheckCodes) {
		t.Errorf("line = %+v", line)
	}
}

func TestBus(t *testing.T) {
	var bus changeevents.Bus
	ctx := context.Background()
	if err := bus.Publish(ctx, sample("nobody listens")); err != nil {
		t.Fatalf("publish without subscribers: %v", err)
	}
	a, cancelA := bus.Subscribe()
	b, cancelB := bus.Subscribe()
	defer cancelB()
	for _, uid := range []string{"1", "2", "3"} {
		if err := bus.Publish(ctx, sample(uid)); err != nil {
			t.Fatal(err)
		}
	}
	for name, ch := range map[string]<-chan changeevents.Change{"a": a, "b": b} {
		for _, want := range []string{"1", "2", "3"} {
			if got := receive(t, ch); got.UID != want {
				t.Errorf("subscriber %s: got %s, want %s", name, got.UID, want)
			}
		}
	}
	cancelA()
	cancelA() // twice is fine
	if err := bus.Publish(ctx, sample("4")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, b); got.UID != "4" {
		t.Errorf("b: got %s, want 4", got.UID)
	}
	select {
	case c := <-a:
		t.Errorf("a received %s after cancelling", c.UID)
	default:
	}
}

// TestBusFullSubscriber checks that Publish waits for a full subscriber
// until ctx ends, and is released when the subscription is cancelled.
func TestBusFullSubscriber(t *testing.T) {
	var bus changeevents.Bus
	_, cancel := bus.Subscribe()
	for i := range changeevents.SubscriberBuffer {
		if err := bus.Publish(context.Background(), sample(string(rune('a'+i%26)))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if err := bus.Publish(ctx, sample("overflow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a full subscriber: got %v, want DeadlineExceeded", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := bus.Publish(context.Background(), sample("released")); err != nil {
			t.Errorf("publish: %v", err)
		}
	})
	time.Sleep(20 * time.Millisecond)
	cancel()
	wg.Wait()
}

type failing struct{ err error }

func (f failing) Publish(context.Context, changeevents.Change) error { return f.err }

func TestFanout(t *testing.T) {
	var bus changeevents.Bus
	ch, cancel := bus.Subscribe()
	defer cancel()
	boom := errors.New("boom")
	f := changeevents.Fanout{failing{boom}, &bus, changeevents.Discard{}}
	if err := f.Publish(context.Background(), sample("x")); !errors.Is(err, boom) {
		t.Fatalf("fanout: got %v, want boom", err)
	}
	if got := receive(t, ch); got.UID != "x" {
		t.Errorf("the bus after a failing publisher: got %s", got.UID)
	}
}

func receive(t *testing.T, ch <-chan changeevents.Change) changeevents.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no change received")
	}
	return changeevents.Change{}
}
