package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/infra/testenv"
	"github.com/bucketlink/bucketlink/shared/identity/provision"
)

// serveProcess is `bucketlink serve` running as a child process, so that
// a test can kill it with SIGKILL.
type serveProcess struct {
	cmd            *exec.Cmd
	base           string
	stdout, stderr *lockedBuffer
	exited         chan error
}

// buildBucketlink builds this command into a temporary directory.
func buildBucketlink(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bucketlink")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServeProcess starts bin serve on a free port with args and waits
// until it listens; the process is killed when the test ends.
func startServeProcess(t *testing.T, bin string, args ...string) *serveProcess {
	t.Helper()
	addr := freeAddr(t)
	p := &serveProcess{base: "http://" + addr, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.stdout.String(), "listening"); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-p.exited:
			t.Fatalf("serve exited: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", p.stderr.String())
		}
	}
	return p
}

// kill9 sends SIGKILL and waits for the process to die of it.
func (p *serveProcess) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.exited
	p.exited <- err // for the cleanup
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("serve after SIGKILL: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("serve did not die of SIGKILL: %v", err)
	}
}

// verifyAnswer is the part of a bucket-verify answer the test reads.
type crashAnswer struct {
	Success          bool   `json:"success"`
	Error            string `json:"error"`
	ConnectionStatus string `json:"connectionStatus"`
	ConnectionError  string `json:"connectionError"`
}

func postVerify(t *testing.T, base, key string, body any) (crashAnswer, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/api/organizations/"+provision.DefaultOrgSlug+"/buckets/verify", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", key)
	resp, err := serveClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var a crashAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(buf.Bytes(), &a) != nil {
		t.Fatalf("verify: %d %s", resp.StatusCode, buf.String())
	}
	return a, buf.String()
}

// TestServeKill9KeepsVerification kills `bucketlink serve` with SIGKILL
// while a bucket-verify verification is connecting, starts it again on
// the same data directory, and polls the same body until it is
// connected: the queue's journal in the SQLite file gives the message to
// the new process, whose worker takes the dead run's lease over once it
// expires, within the record's deadline.
//
// The bucket is a MinIO behind Toxiproxy adding 1.5 s to every answer, so
// that the run is still in flight when the process dies. Before the
// journal, the message died with the process and the record read
// "verification timed out" at its deadline.
func TestServeKill9KeepsVerification(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("needs SIGKILL")
	}
	m := testenv.StartMinIO(t)
	tp := testenv.StartToxiproxy(t)
	slow := tp.NewProxy(t, m.Endpoint)
	slow.AddLatency(t, "slow", testenv.Downstream, 1500*time.Millisecond)
	bin := buildBucketlink(t)
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--data", data, "--allow-private-endpoints", "--log-level", "debug",
		"--verify-deadline", "8s", "--verify-lease", "10s", "--verify-record-deadline", "45s"}

	first := startServeProcess(t, bin, args...)
	keyBytes, err := os.ReadFile(filepath.Join(data, provision.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	bucket := testenv.BucketName(t, "kill9")
	m.CreateBucket(t, bucket)
	m.PutObject(t, bucket, "data/a.jpg", []byte("jpeg"))
	ak, sk := testenv.NewCredentials(t)
	ak = strings.ToUpper(ak)
	m.AddUser(t, ak, sk, testenv.ReadWritePolicy(bucket))
	body := map[string]any{"storageProvider": "other", "accessKey": ak, "secretKey": sk, "bucket": bucket,
		"endpoint": slow.URL(), "prefix": "data"}

	started := time.Now()
	if a, raw := postVerify(t, first.base, key, body); !a.Success || a.ConnectionStatus != "connecting" {
		t.Fatalf("first POST: %s", raw)
	}
	time.Sleep(time.Second) // the run is waiting on the slow endpoint
	if a, raw := postVerify(t, first.base, key, body); a.ConnectionStatus != "connecting" {
		t.Fatalf("before the kill: %s", raw)
	}
	first.kill9(t)
	killedAt := time.Since(started)

	// What the dead process left: the record in connecting under its
	// run's lease, and the message in the journal.
	db, err := sql.Open("sqlite", filepath.Join(data, "bucketlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	var state, owner string
	var journaled int
	if err := db.QueryRow(`SELECT state, lease_owner FROM verifications`).Scan(&state, &owner); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM queue_journal WHERE kind = 'verify'`).Scan(&journaled); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if state != "connecting" || owner == "" || journaled != 1 {
		t.Fatalf("after kill -9: record %s leased by %q, %d journaled messages; want connecting, leased, 1", state, owner, journaled)
	}

	second := startServeProcess(t, bin, args...)
	var last string
	for end := time.Now().Add(44 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		a, raw := postVerify(t, second.base, key, body)
		last = raw
		if a.ConnectionStatus != "connecting" {
			if a.ConnectionStatus != "connected" {
				t.Fatalf("after the restart the verification ended %s: %s\n%s", a.ConnectionStatus, raw, second.stderr.String())
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("still connecting 44 s after the restart: %s\n%s", last, second.stderr.String())
		}
	}
	took := time.Since(started)
	logs := second.stderr.String()
	// The restarted worker took the dead run over: a second attempt.
	if !strings.Contains(logs, `"attempt":2`) {
		t.Errorf("the restarted process's log shows no second attempt:\n%s", logs)
	}
	if took >= 45*time.Second {
		t.Errorf("connected %s after the first POST, past the record deadline of 45 s", took)
	}
	t.Logf("killed %s after the POST; connected %s after it (lease 10 s), by the restarted process: %s",
		killedAt.Round(time.Millisecond), took.Round(time.Millisecond), fmt.Sprint(strings.Count(logs, "verification finished"), " run finished there"))
}
