package testenv

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running emulator process whose output is kept in a buffer.
// Emulator types embed it for their lifecycle: stop and output.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	log    *lockedBuffer
	group  bool   // runs in its own process group, killed as a whole
	redact string // a secret removed from output, if not empty
}

// startProc starts bin with args, env (nil: the caller's) and working
// directory dir (empty: the caller's). The child dies with the test binary
// where the platform allows it; with group it also gets its own process
// group, so stop kills anything it spawns.
func startProc(bin string, args, env []string, dir string, group bool) (*proc, error) {
	p := &proc{done: make(chan struct{}), log: &lockedBuffer{}, group: group}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = childAttr()
	if group {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Setpgid = true
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// errProcExited is what poll returns when the process exits first.
var errProcExited = errors.New("process exited")

// poll calls try every interval until it succeeds, the process exits
// (errProcExited) or timeout passes (try's last error).
func (p *proc) poll(timeout, every time.Duration, try func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return errProcExited
		case <-ctx.Done():
			return err
		case <-time.After(every):
		}
	}
}

// waitHTTP polls GET url every interval until ok accepts an answer, failing
// when the process exits or timeout passes first.
func (p *proc) waitHTTP(url string, ok func(*http.Response) bool, timeout, every time.Duration) error {
	return p.waitHTTPWith(&http.Client{Timeout: time.Second}, url, ok, timeout, every)
}

// waitHTTPWith is waitHTTP with client (e.g. one trusting a test
// certificate).
func (p *proc) waitHTTPWith(client *http.Client, url string, ok func(*http.Response) bool, timeout, every time.Duration) error {
	err := p.poll(timeout, every, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if !ok(resp) {
			return errors.New("not ready")
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errProcExited):
		return errors.New("server exited before it was ready")
	default:
		return errors.New("server not ready after " + timeout.String())
	}
}

// statusOK accepts an answer with status 200.
func statusOK(resp *http.Response) bool { return resp.StatusCode == http.StatusOK }

// stop kills the process (its whole group for a group), waits for it and
// is safe to call twice.
func (p *proc) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	if p.group {
		select {
		case <-p.done:
			return
		default:
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// output returns the tail of the process's output with the secret
// redacted.
func (p *proc) output() string {
	s := p.log.String()
	if p.redact != "" {
		s = strings.ReplaceAll(s, p.redact, "[redacted]")
	}
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// retryStart calls start up to three times, for when a just-chosen port
// was taken by someone else, and returns the last error.
func retryStart[T any](start func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 3 {
		if v, err = start(); err == nil {
			return v, nil
		}
	}
	return v, err
}

// sharedServer holds a package's one server of a kind: started lazily by
// get, stopped by Main.
type sharedServer[T interface{ stop() }] struct {
	fn        string // the exported function, for the Main error
	what      string // for the start error
	dirPrefix string // if set, get makes a temporary directory for start

	mu      sync.Mutex
	srv     T
	started bool
	err     error
	dir     string
}

// get returns the server, starting it with start on first use (given a
// fresh temporary directory when dirPrefix is set). It fails the test
// outside Main or when the start failed.
func (s *sharedServer[T]) get(tb testing.TB, start func(dir string) (T, error)) T {
	tb.Helper()
	shared.mu.Lock()
	inMain := shared.inMain
	shared.mu.Unlock()
	if !inMain {
		tb.Fatal("testenv: " + s.fn + " needs testenv.Main in the package's TestMain")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started && s.err == nil {
		var err error
		if s.dirPrefix != "" {
			s.dir, err = os.MkdirTemp("", s.dirPrefix)
		}
		if err == nil {
			s.srv, err = start(s.dir)
		}
		s.started, s.err = err == nil, err
	}
	if s.err != nil {
		tb.Fatalf("testenv: shared %s: %v", s.what, s.err)
	}
	return s.srv
}

// stop stops the server, if one was started, and removes its directory.
func (s *sharedServer[T]) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		s.srv.stop()
		var zero T
		s.srv, s.started = zero, false
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// lockedBuffer is a bytes.Buffer safe for a child's stdout and stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
