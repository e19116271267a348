package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
)

func loadEvent(t *testing.T) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sqs-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	return ev
}

func TestBatchHandlerReportsPartialFailures(t *testing.T) {
	ev := loadEvent(t)
	var mu sync.Mutex
	got := map[string]queue.Message{}
	h := sqsqueue.BatchHandler(func(_ context.Context, m queue.Message) error {
		mu.Lock()
		got[m.Key] = m
		mu.Unlock()
		switch m.Key {
		case "rec-fails":
			return errors.New("bucket check could not be recorded")
		case "rec-panics":
			panic("bug")
		}
		return nil
	}, 2)
	resp, err := h(t.Context(), ev)
	if err != nil {
		t.Fatalf("BatchHandler: %v", err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	want := []string{
		"11111111-0000-4000-8000-000000000003", // body is not a message
		"11111111-0000-4000-8000-000000000004", // handler error
		"11111111-0000-4000-8000-000000000005", // handler panic
	}
	if !slices.Equal(ids, want) {
		t.Errorf("BatchItemFailures = %q, want %q", ids, want)
	}
	sent := time.UnixMilli(1700000000000) // the events' SentTimestamp
	wantMsgs := map[string]queue.Message{
		"rec-ok":     {Kind: queue.KindVerify, Key: "rec-ok", Attempt: 1, SentAt: sent},
		"cfg-retry":  {Kind: queue.KindReverify, Key: "cfg-retry", Attempt: 3, SentAt: sent},
		"rec-fails":  {Kind: queue.KindVerify, Key: "rec-fails", Attempt: 1, SentAt: sent}, // no receive count: 1
		"rec-panics": {Kind: queue.KindVerify, Key: "rec-panics", Attempt: 2, SentAt: sent},
	}
	for key, w := range wantMsgs {
		if got[key] != w {
			t.Errorf("handler got %+v for %s, want %+v", got[key], key, w)
		}
	}
	if len(got) != len(wantMsgs) {
		t.Errorf("handler called for %d messages, want %d", len(got), len(wantMsgs))
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"batchItemFailures":[{"itemIdentifier":"11111111-`) {
		t.Errorf("response JSON = %s, want Lambda's batchItemFailures shape", b)
	}
}

func TestBatchHandlerAllSucceed(t *testing.T) {
	ev := loadEvent(t)
	ev.Records = ev.Records[:2]
	resp, err := sqsqueue.BatchHandler(func(context.Context, queue.Message) error { return nil }, 4)(t.Context(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("BatchHandler = %+v, %v; want no failures", resp, err)
	}
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":null}` {
		t.Errorf("response JSON = %s", b)
	}
}

func records(n int) events.SQSEvent {
	var ev events.SQSEvent
	for i := range n {
		body, _ := queue.Encode(queue.Message{Kind: queue.KindVerify, Key: fmt.Sprintf("k%d", i)})
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "id-" + strconv.Itoa(i), Body: body})
	}
	return ev
}

func TestBatchHandlerBoundsConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		want        int32
	}{
		{"zero means one", 0, 1},
		{"one", 1, 1},
		{"three", 3, 3},
		{"more than records", 20, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var active, peak, calls atomic.Int32
			h := sqsqueue.BatchHandler(func(context.Context, queue.Message) error {
				calls.Add(1)
				cur := active.Add(1)
				defer active.Add(-1)
				for old := peak.Load(); cur > old && !peak.CompareAndSwap(old, cur); old = peak.Load() {
				}
				time.Sleep(40 * time.Millisecond)
				return nil
			}, tc.concurrency)
			resp, err := h(t.Context(), records(10))
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("BatchHandler = %+v, %v", resp, err)
			}
			if calls.Load() != 10 {
				t.Errorf("%d calls, want 10", calls.Load())
			}
			if got := peak.Load(); got != tc.want {
				t.Errorf("peak concurrency = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestBatchHandlerDeadline checks that records not started when the
// context ends are reported failed without being handled, and that the
// running one sees the cancellation.
func TestBatchHandlerDeadline(t *testing.T) {
	var calls atomic.Int32
	h := sqsqueue.BatchHandler(func(ctx context.Context, _ queue.Message) error {
		calls.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	resp, err := h(ctx, records(5))
	if err != nil {
		t.Fatalf("BatchHandler: %v", err)
	}
	if len(resp.BatchItemFailures) != 5 {
		t.Errorf("%d failures, want all 5", len(resp.BatchItemFailures))
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d handler calls, want 1: records must not start after the deadline", n)
	}

	calls.Store(0)
	resp, err = h(ctx, records(3)) // already cancelled
	if err != nil || len(resp.BatchItemFailures) != 3 || calls.Load() != 0 {
		t.Errorf("with a done context: %d failures, %d calls, err %v; want 3, 0, nil", len(resp.BatchItemFailures), calls.Load(), err)
	}
}

func TestBatchHandlerFailedRecordWithoutID(t *testing.T) {
	ev := records(2)
	ev.Records[1].MessageId = ""
	_, err := sqsqueue.BatchHandler(func(context.Context, queue.Message) error { return errors.New("no") }, 2)(t.Context(), ev)
	if err == nil {
		t.Fatal("BatchHandler succeeded with an unreportable failure, want an error failing the batch")
	}
}

// TestNoLambdaRuntime checks that the package imports the Lambda event
// types only, never the runtime.
func TestNoLambdaRuntime(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/aws/aws-lambda-go/") && p != "github.com/aws/aws-lambda-go/events" {
				t.Errorf("%s imports %s; only the events package is allowed", f, p)
			}
		}
	}
}
