package lambdatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/infra/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// repoRoot returns the module root.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

var echoBuild struct {
	once sync.Once
	path string
	err  error
}

// echoBootstrap builds testdata/echo, a tiny aws-lambda-go function, once.
func echoBootstrap(t *testing.T) string {
	t.Helper()
	echoBuild.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		root := repoRoot(t)
		out := filepath.Join(root, ".tools", "lambdatest", lambdatest.HostTarget().String(), "testdata-echo")
		echoBuild.path, echoBuild.err = lambdatest.Build(ctx, root, "./infra/lambdatest/testdata/echo", lambdatest.HostTarget(), out)
	})
	if echoBuild.err != nil {
		t.Fatal(echoBuild.err)
	}
	return echoBuild.path
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

type echoReply struct {
	Data       string `json:"data"`
	RequestID  string `json:"request_id"`
	ARN        string `json:"arn"`
	DeadlineMs int64  `json:"deadline_ms"`
	PID        int    `json:"pid"`
}

func TestRuntimeInvokesAWarmFunction(t *testing.T) {
	f := lambdatest.Start(t, echoBootstrap(t), lambdatest.Options{Name: "echo", Timeout: 7 * time.Second})
	ctx := ctxFor(t, 30*time.Second)
	initDur, err := f.WaitInit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if initDur <= 0 || initDur > 10*time.Second {
		t.Errorf("init duration %s, want a small positive duration", initDur)
	}
	pid := 0
	for i, data := range []string{"one", "two", "three"} {
		before := time.Now()
		res, err := f.Invoke(ctx, []byte(`{"action":"echo","data":"`+data+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Err != nil {
			t.Fatalf("invoke %d: %v", i, res.Err)
		}
		var r echoReply
		if err := json.Unmarshal(res.Payload, &r); err != nil {
			t.Fatalf("invoke %d: %v: %s", i, err, res.Payload)
		}
		if r.Data != data || r.RequestID != res.RequestID || !strings.HasSuffix(r.ARN, ":function:echo") {
			t.Errorf("invoke %d: reply %+v, request id %s", i, r, res.RequestID)
		}
		if dl := time.UnixMilli(r.DeadlineMs); dl.Before(before.Add(6*time.Second)) || dl.After(time.Now().Add(7*time.Second)) {
			t.Errorf("invoke %d: deadline %s is not the invocation time + 7s", i, dl)
		}
		if pid == 0 {
			pid = r.PID
		} else if r.PID != pid {
			t.Errorf("invoke %d ran in process %d, want the warm process %d", i, r.PID, pid)
		}
	}
}

func TestRuntimeReportsFunctionErrors(t *testing.T) {
	bootstrap := echoBootstrap(t)
	tests := []struct {
		name     string
		event    string
		wantType string
		wantMsg  string
		exits    bool // aws-lambda-go exits after reporting a panic
	}{
		{name: "returned error", event: `{"action":"fail","data":"no luck"}`, wantType: "errorString", wantMsg: "no luck"},
		{name: "unknown action", event: `{"action":"dance"}`, wantType: "errorString", wantMsg: `unknown action "dance"`},
		{name: "event of the wrong shape", event: `[1,2]`, wantType: "UnmarshalTypeError", wantMsg: "cannot unmarshal array"},
		{name: "panic", event: `{"action":"panic","data":"boom"}`, wantType: "string", wantMsg: "boom", exits: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := lambdatest.Start(t, bootstrap, lambdatest.Options{})
			ctx := ctxFor(t, 30*time.Second)
			res, err := f.Invoke(ctx, []byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil {
				t.Fatalf("response %s, want an error", res.Payload)
			}
			if res.Err.Type != tt.wantType || !strings.Contains(res.Err.Message, tt.wantMsg) {
				t.Errorf("error %+v, want type %s and a message with %q", res.Err, tt.wantType, tt.wantMsg)
			}
			if tt.exits {
				select {
				case <-f.Exited():
				case <-ctx.Done():
					t.Fatal("the function did not exit after a panic")
				}
				return
			}
			// The environment stays warm after a returned error.
			res, err = f.Invoke(ctx, []byte(`{"action":"echo","data":"still here"}`))
			if err != nil || res.Err != nil || !strings.Contains(string(res.Payload), "still here") {
				t.Errorf("invoke after the error: %v, %+v", err, res)
			}
		})
	}
}

func TestRuntimeNoticesAnExit(t *testing.T) {
	f := lambdatest.Start(t, echoBootstrap(t), lambdatest.Options{})
	ctx := ctxFor(t, 30*time.Second)
	if _, err := f.WaitInit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := f.Invoke(ctx, []byte(`{"action":"exit"}`))
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("Invoke = %v, want an error saying the function exited", err)
	}
	if err := f.ExitError(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("ExitError = %v, want exit status 3", err)
	}
}

func TestRuntimeInvokeHonoursContext(t *testing.T) {
	f := lambdatest.Start(t, echoBootstrap(t), lambdatest.Options{})
	if _, err := f.WaitInit(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 300*time.Millisecond)
	if _, err := f.Invoke(ctx, []byte(`{"action":"sleep"}`)); err == nil || ctx.Err() == nil {
		t.Fatalf("Invoke of a sleeping function = %v, want the context's deadline", err)
	}
}

func TestRuntimeRecordsInitErrors(t *testing.T) {
	f := lambdatest.Start(t, echoBootstrap(t), lambdatest.Options{Env: []string{"ECHO_INIT_ERROR=missing setting FOO"}})
	ctx := ctxFor(t, 30*time.Second)
	if _, err := f.WaitInit(ctx); err == nil || !strings.Contains(err.Error(), "init failed: missing setting FOO") {
		t.Fatalf("WaitInit = %v, want the exit with the function's output", err)
	}
	fe, ok := f.Runtime.InitError()
	if !ok || fe.Type != "Runtime.InitError" || fe.Message != "missing setting FOO" {
		t.Errorf("InitError = %+v, %v", fe, ok)
	}
}

func TestRuntimeRejectsUnknownRequestIDs(t *testing.T) {
	rt := lambdatest.NewRuntime()
	defer rt.Close()
	for _, path := range []string{"/invocation/nope/response", "/invocation/nope/error"} {
		resp, err := http.Post("http://"+rt.Addr()+"/2018-06-01/runtime"+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400", path, resp.StatusCode)
		}
	}
}
