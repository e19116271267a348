package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Target is the platform a bootstrap is built for.
type Target struct{ GOOS, GOARCH string }

// LambdaTarget is what template.yaml deploys: provided.al2023 on arm64.
var LambdaTarget = Target{GOOS: "linux", GOARCH: "arm64"}

// HostTarget is the machine running the tests: a bootstrap built for it can
// run here.
func HostTarget() Target { return Target{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH} }

// String is "goos_goarch", as in build directories.
func (t Target) String() string { return t.GOOS + "_" + t.GOARCH }

// BuildFlags are the `go build` flags of the Makefile's build-<LogicalId>
// targets, which `sam build` runs; the build also sets CGO_ENABLED=0.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-buildvcs=false"}

// Build compiles the main package pkg (e.g. "./functions/get-setup-info",
// relative to moduleRoot) for t with BuildFlags and CGO_ENABLED=0 into
// outDir/bootstrap, and returns that path. An up-to-date bootstrap is not
// relinked.
func Build(ctx context.Context, moduleRoot, pkg string, t Target, outDir string) (string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("lambdatest: build %s: %w", pkg, err)
	}
	out := filepath.Join(outDir, "bootstrap")
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdatest: go build %s for %s: %w\n%s", pkg, t, err, b)
	}
	return out, nil
}

var buildCache struct {
	mu    sync.Mutex
	paths map[string]string
}

// BuildFunction builds functions/<name> for t once per test binary, into
// <module root>/.tools/lambdatest/<target>/<name>/bootstrap (kept between
// runs, so an unchanged function is not relinked), and returns the path.
func BuildFunction(tb testing.TB, moduleRoot, name string, t Target) string {
	tb.Helper()
	key := t.String() + "/" + name
	buildCache.mu.Lock()
	defer buildCache.mu.Unlock()
	if p, ok := buildCache.paths[key]; ok {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := Build(ctx, moduleRoot, "./functions/"+name, t, filepath.Join(moduleRoot, ".tools", "lambdatest", t.String(), name))
	if err != nil {
		tb.Fatal(err)
	}
	if buildCache.paths == nil {
		buildCache.paths = map[string]string{}
	}
	buildCache.paths[key] = p
	return p
}

// Options configure a Function.
type Options struct {
	// Name is AWS_LAMBDA_FUNCTION_NAME; default "lambdatest".
	Name string
	// Env holds the function's own variables (KEY=VALUE), added to the ones
	// Lambda sets. Nothing is inherited from the test's environment, so a
	// developer's AWS_PROFILE or credentials never reach the function.
	Env []string
	// Timeout is the function timeout, which sets each invocation's
	// deadline; default 30 s.
	Timeout time.Duration
	// MemoryMB is reported as AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 128.
	MemoryMB int
}

// Function is a bootstrap running as a child process against its own
// Runtime, like one Lambda execution environment.
type Function struct {
	Runtime *Runtime
	// Started is when the process was started.
	Started time.Time

	cmd     *exec.Cmd
	out     *lockedBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	once    sync.Once
}

// Start starts a Runtime and the bootstrap against it. The function is
// stopped when the test ends, or earlier by Stop.
func Start(tb testing.TB, bootstrap string, opts Options) *Function {
	tb.Helper()
	f, err := start(bootstrap, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Stop)
	return f
}

func start(bootstrap string, opts Options) (*Function, error) {
	if opts.Name == "" {
		opts.Name = "lambdatest"
	}
	if opts.MemoryMB == 0 {
		opts.MemoryMB = 128
	}
	rt := NewRuntime()
	if opts.Timeout > 0 {
		rt.Timeout = opts.Timeout
	}
	rt.FunctionARN = "arn:aws:lambda:us-east-1:000000000000:function:" + opts.Name
	f := &Function{Runtime: rt, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd := exec.Command(bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(lambdaEnv(rt.Addr(), opts, cmd.Dir), opts.Env...)
	cmd.Stdout, cmd.Stderr = f.out, f.out
	cmd.SysProcAttr = childAttr()
	f.cmd = cmd
	f.Started = time.Now()
	if err := cmd.Start(); err != nil {
		rt.Close()
		return nil, fmt.Errorf("lambdatest: start %s: %w", bootstrap, err)
	}
	go func() {
		f.waitErr = cmd.Wait()
		close(f.done)
	}()
	return f, nil
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function.
func lambdaEnv(api string, opts Options, taskRoot string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=" + opts.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", opts.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + opts.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=lambdatest",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"LAMBDA_RUNTIME_DIR=" + taskRoot,
		"_HANDLER=bootstrap",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}
}

// WaitInit waits until the function first asks for an invocation and
// returns its init duration: from process start to that first GET next.
// It fails if the process exits first, with its output.
func (f *Function) WaitInit(ctx context.Context) (time.Duration, error) {
	select {
	case <-f.Runtime.NextSeen():
		return f.Runtime.FirstNext().Sub(f.Started), nil
	case <-f.done:
		return 0, fmt.Errorf("lambdatest: function exited during init (%v); output:\n%s", f.waitErr, f.Output())
	case <-ctx.Done():
		return 0, fmt.Errorf("lambdatest: waiting for init: %w; output:\n%s", ctx.Err(), f.Output())
	}
}

// Invoke runs one invocation with payload (the event JSON) and returns the
// function's response or error. It fails if the process exits meanwhile.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-f.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := f.Runtime.Invoke(ctx, payload)
	if err != nil {
		select {
		case <-f.done:
			return nil, fmt.Errorf("lambdatest: function exited (%v) during the invocation; output:\n%s", f.waitErr, f.Output())
		default:
		}
		return nil, err
	}
	return res, nil
}

// Exited is closed when the process has exited.
func (f *Function) Exited() <-chan struct{} { return f.done }

// ExitError returns the process's exit error (nil for status 0). Call it
// after Exited is closed.
func (f *Function) ExitError() error {
	<-f.done
	return f.waitErr
}

// Output returns everything the process wrote to stdout and stderr.
func (f *Function) Output() string { return f.out.String() }

// Stop kills the process and closes its Runtime. It is safe to call twice.
func (f *Function) Stop() {
	f.once.Do(func() {
		if f.cmd.Process != nil {
			_ = f.cmd.Process.Kill()
		}
		<-f.done
		f.Runtime.Close()
	})
}

// lockedBuffer is a bytes.Buffer safe for a child's stdout and stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
