package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob"
	"github.com/bucketlink/bucketlink/shared/blob/azureblob"
	"github.com/bucketlink/bucketlink/shared/blob/gcsblob"
	"github.com/bucketlink/bucketlink/shared/blob/s3blob"
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

// watchBucket returns b reporting to p the calls of the checks: List is
// the list check, ReadRange the read, Put and PutVersion the write, Delete
// and DeleteVersion the delete. The watched bucket embeds the driver's own
// type, so that it has every method the driver has (the optional
// interfaces of blob the verifier asks for: Versions, Located,
// WriteChecker, CORSReader, ...), and the verifier runs as in the API. A
// bucket of another type is returned as it is: its calls are not shown.
func watchBucket(b blob.Bucket, p *progress) blob.Bucket {
	w := watchCalls{b, p}
	switch d := b.(type) {
	case *s3blob.Bucket:
		return &watchedS3{d, w}
	case *gcsblob.Bucket:
		return &watchedGCS{d, w}
	case *azureblob.Bucket:
		return &watchedAzure{d, w}
	}
	return b
}

// watchCalls reports the calls of the checks on b to p.
type watchCalls struct {
	b blob.Bucket
	p *progress
}

func (w watchCalls) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	w.p.event(verify.CheckList, stateRunning)
	objs, err := w.b.List(ctx, prefix, limit)
	w.p.event(verify.CheckList, outcomeState(err))
	return objs, err
}

func (w watchCalls) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	w.p.event(verify.CheckRead, stateRunning)
	data, err := w.b.ReadRange(ctx, key, n)
	w.p.event(verify.CheckRead, outcomeState(err))
	return data, err
}

func (w watchCalls) Put(ctx context.Context, key string, data []byte) error {
	w.p.event(verify.CheckWrite, stateRunning)
	err := w.b.Put(ctx, key, data)
	w.p.event(verify.CheckWrite, outcomeState(err))
	return err
}

func (w watchCalls) Delete(ctx context.Context, key string) error {
	w.p.event(verify.CheckDelete, stateRunning)
	err := w.b.Delete(ctx, key)
	w.p.event(verify.CheckDelete, outcomeState(err))
	return err
}

// watchedS3 is an S3 (or GCS HMAC) bucket whose check calls are watched.
type watchedS3 struct {
	*s3blob.Bucket
	w watchCalls
}

func (b *watchedS3) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	return b.w.List(ctx, prefix, limit)
}
func (b *watchedS3) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	return b.w.ReadRange(ctx, key, n)
}
func (b *watchedS3) Put(ctx context.Context, key string, data []byte) error {
	return b.w.Put(ctx, key, data)
}
func (b *watchedS3) Delete(ctx context.Context, key string) error { return b.w.Delete(ctx, key) }

func (b *watchedS3) PutVersion(ctx context.Context, key string, data []byte) (blob.Written, error) {
	b.w.p.event(verify.CheckWrite, stateRunning)
	out, err := b.Bucket.PutVersion(ctx, key, data)
	b.w.p.event(verify.CheckWrite, outcomeState(err))
	return out, err
}

func (b *watchedS3) DeleteVersion(ctx context.Context, key, version string) error {
	b.w.p.event(verify.CheckDelete, stateRunning)
	err := b.Bucket.DeleteVersion(ctx, key, version)
	b.w.p.event(verify.CheckDelete, outcomeState(err))
	return err
}

// watchedGCS is a GCS bucket whose check calls are watched.
type watchedGCS struct {
	*gcsblob.Bucket
	w watchCalls
}

func (b *watchedGCS) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	return b.w.List(ctx, prefix, limit)
}
func (b *watchedGCS) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	return b.w.ReadRange(ctx, key, n)
}
func (b *watchedGCS) Put(ctx context.Context, key string, data []byte) error {
	return b.w.Put(ctx, key, data)
}
func (b *watchedGCS) Delete(ctx context.Context, key string) error { return b.w.Delete(ctx, key) }

// watchedAzure is an Azure container whose check calls are watched.
type watchedAzure struct {
	*azureblob.Bucket
	w watchCalls
}

func (b *watchedAzure) List(ctx context.Context, prefix string, limit int) ([]blob.Object, error) {
	return b.w.List(ctx, prefix, limit)
}
func (b *watchedAzure) ReadRange(ctx context.Context, key string, n int64) ([]byte, error) {
	return b.w.ReadRange(ctx, key, n)
}
func (b *watchedAzure) Put(ctx context.Context, key string, data []byte) error {
	return b.w.Put(ctx, key, data)
}
func (b *watchedAzure) Delete(ctx context.Context, key string) error { return b.w.Delete(ctx, key) }
