package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
)

// The steps progress shows: opening the bucket (for iam_role, AssumeRole),
// then the verifier's two lanes, which run at once: list then read, and
// write then delete.
const stepOpen = "open"

var lanes = [][]string{{verify.CheckList, verify.CheckRead}, {verify.CheckWrite, verify.CheckDelete}}

// stepState is what progress knows of one step.
type stepState int

const (
	statePending stepState = iota
	stateRunning
	stateAnswered // the provider answered; the result table says how it reads
	stateErrored  // the call failed; the result table says why
)

// progress shows the checks as they run: on a terminal, one line per lane
// redrawn in place with a spinner; elsewhere, one plain line per event.
// It learns of the steps by watching the verifier's calls (watch), so it
// shows what the verifier does without a hook in the verifier.
type progress struct {
	w   io.Writer
	tty bool

	mu     sync.Mutex
	state  map[string]stepState
	final  map[string]verification.Check
	drawn  int // lines drawn on the terminal
	frame  int
	stop   chan struct{}
	done   chan struct{}
	header string
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, state: map[string]stepState{}}
}

// spinnerFrames are the frames of a running step's spinner.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinEvery is how often the terminal is redrawn while a step runs.
const spinEvery = 100 * time.Millisecond

// start announces the verification of c and, on a terminal, starts the
// spinner.
func (p *progress) start(c *storageconfig.Config) {
	where := fmt.Sprintf("%s bucket %q", c.Provider, c.Bucket())
	if c.Prefix() != "" {
		where += fmt.Sprintf(" under %q", c.Prefix())
	}
	p.header = "Verifying " + where + " from this machine"
	if !p.tty {
		fmt.Fprintln(p.w, p.header)
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.mu.Lock()
	p.draw()
	p.mu.Unlock()
	go func() {
		defer close(p.done)
		t := time.NewTicker(spinEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.frame++
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
}

// finish shows the outcome of every check (on a terminal, in place);
// later events, of calls that outlived the deadline, are not shown.
func (p *progress) finish(res verify.Result) {
	if p.tty {
		close(p.stop)
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.final = map[string]verification.Check{}
	for _, c := range res.Checks {
		p.final[c.Name] = c
	}
	if p.tty {
		p.draw()
	}
}

// event records that step moved to s.
func (p *progress) event(step string, s stepState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.final != nil {
		return // a late call after the deadline: the result is out
	}
	p.state[step] = s
	if p.tty {
		p.draw()
		return
	}
	word := map[stepState]string{stateRunning: "started", stateAnswered: "answered", stateErrored: "failed"}[s]
	fmt.Fprintf(p.w, "  %s: %s\n", step, word)
}

// draw redraws the terminal lines in place (p.mu held).
func (p *progress) draw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the first line
	}
	lines := []string{p.header, "  " + p.symbol(stepOpen) + " open the bucket"}
	for i, lane := range lanes {
		parts := make([]string, 0, len(lane))
		for _, step := range lane {
			part := p.symbol(step) + " " + step
			if c, ok := p.final[step]; ok && !c.OK && c.Code != verify.CodeSkipped {
				part += " (" + c.Code + ")"
			}
			parts = append(parts, part)
		}
		lines = append(lines, fmt.Sprintf("  lane %d  %s", i+1, strings.Join(parts, "  →  ")))
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[K" + l + "\n")
	}
	p.drawn = len(lines)
	_, _ = io.WriteString(p.w, b.String())
}

// symbol is the mark of one step: its final result once known, else its
// state.
func (p *progress) symbol(step string) string {
	if p.final != nil {
		c, ok := p.final[step]
		switch {
		case step == stepOpen && p.state[stepOpen] == stateAnswered:
			return "✓"
		case step == stepOpen && p.state[stepOpen] == stateErrored:
			return "✗"
		case step == stepOpen:
			return "·" // not opened: the credentials failed without connecting
		case !ok:
			return "·"
		case c.OK && c.Code == verify.CodeSkipped, !c.OK && c.Code == verify.CodeSkipped:
			return "–"
		case c.OK:
			return "✓"
		}
		return "✗"
	}
	switch p.state[step] {
	case stateRunning:
		return spinnerFrames[p.frame%len(spinnerFrames)]
	case stateAnswered:
		return "✓"
	case stateErrored:
		return "✗"
	}
	return "·"
}

// watch returns o reporting to p each step of the verification: opening
// the bucket and each call of the checks.
func (p *progress) watch(o verify.Opener) verify.Opener { return watchedOpener{o, p} }

type watchedOpener struct {
	verify.Opener
	p *progress
}

func (o watchedOpener) Open(ctx context.Context, c *storageconfig.Config, creds storageconfig.Credentials) (blob.Bucket, error) {
	o.p.event(stepOpen, stateRunning)
	b, err := o.Opener.Open(ctx, c, creds)
	o.p.event(stepOpen, outcomeState(err))
	if err != nil {
		return nil, err
	}
	return watchBucket(b, o.p), nil
}

func outcomeState(err error) stepState {
	if err != nil {
		return stateErrored
	}
	return stateAnswered
}

// watchedBucket reports each call of the checks: List is the list check,
// ReadRange the read, Put the write and Delete the delete.
type watchedBucket struct {
	blob.Bucket
	p *progress
}

func (b watchedBucket) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	b.p.event(verify.CheckList, stateRunning)
	objs, err := b.Bucket.List(ctx, prefix, limit)
	b.p.event(verify.CheckList, outcomeState(err))
	return objs, err
}

func (b watchedBucket) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	b.p.event(verify.CheckRead, stateRunning)
	data, err := b.Bucket.ReadRange(ctx, key, n)
	b.p.event(verify.CheckRead, outcomeState(err))
	return data, err
}

func (b watchedBucket) Put(ctx context.Context, key string, data []byte) error {
	b.p.event(verify.CheckWrite, stateRunning)
	err := b.Bucket.Put(ctx, key, data)
	b.p.event(verify.CheckWrite, outcomeState(err))
	return err
}

func (b watchedBucket) Delete(ctx context.Context, key string) error {
	b.p.event(verify.CheckDelete, stateRunning)
	err := b.Bucket.Delete(ctx, key)
	b.p.event(verify.CheckDelete, outcomeState(err))
	return err
}

// watchBucket returns b reporting its calls to p, with the optional
// interfaces of blob that b has and no others, so that the verifier sees
// the same bucket as without progress: Versions (PutVersion is the write
// check, DeleteVersion the delete) and Located. PresignHeaders is left
// out: only VerifyBucket (the bucket-verify API) presigns, and verify
// runs Verify.
func watchBucket(b blob.Bucket, p *progress) blob.Bucket {
	w := watchedBucket{b, p}
	v, versions := b.(blob.Versions)
	l, located := b.(blob.Located)
	switch {
	case versions && located:
		return struct {
			watchedBucket
			watchedVersions
			blob.Located
		}{w, watchedVersions{v, p}, l}
	case versions:
		return struct {
			watchedBucket
			watchedVersions
		}{w, watchedVersions{v, p}}
	case located:
		return struct {
			watchedBucket
			blob.Located
		}{w, l}
	}
	return w
}

// watchedVersions reports the calls of blob.Versions.
type watchedVersions struct {
	v blob.Versions
	p *progress
}

func (w watchedVersions) PutVersion(ctx context.Context, key string, data []byte) (blob.Written, error) {
	w.p.event(verify.CheckWrite, stateRunning)
	out, err := w.v.PutVersion(ctx, key, data)
	w.p.event(verify.CheckWrite, outcomeState(err))
	return out, err
}

func (w watchedVersions) DeleteVersion(ctx context.Context, key, version string) error {
	w.p.event(verify.CheckDelete, stateRunning)
	err := w.v.DeleteVersion(ctx, key, version)
	w.p.event(verify.CheckDelete, outcomeState(err))
	return err
}
