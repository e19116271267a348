package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the output")

// TestMain runs the command's main instead of the tests when
// BUCKETLINK_TEST_MAIN is set, so that tests can check real exit codes
// by running the test binary as the command.
func TestMain(m *testing.M) {
	if os.Getenv("BUCKETLINK_TEST_MAIN") == "1" {
		os.Args = append([]string{"bucketlink"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// golden compares got with testdata/name.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// normalizer replaces what changes from run to run (names, ports, probe
// uuids, times) with placeholders, for golden files.
type normalizer []string

func (n normalizer) apply(s string) string {
	for i := 0; i+1 < len(n); i += 2 {
		s = strings.ReplaceAll(s, n[i], n[i+1])
	}
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	s = timeRE.ReplaceAllString(s, "<time>")
	return s
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
)

// command runs `bucketlink args...` in this process and returns its
// stdout, stderr and exit code.
func command(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	verifyStdin = strings.NewReader(stdin)
	t.Cleanup(func() { verifyStdin = os.Stdin })
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err != nil {
		errOut.WriteString("bucketlink: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitCode(err)
}

// clearCredentialEnv empties every variable verify reads secrets from, so
// that a test sees only the ones it sets.
func clearCredentialEnv(t *testing.T) {
	for _, v := range []string{envAWSAccessKeyID, envAWSSecretAccessKey, envAWSSessionToken, envGoogleCredentials,
		envGCSHMACAccessID, envGCSHMACSecret, envAzureKey, envAzureSAS, "AZURE_STORAGE_ACCOUNT"} {
		t.Setenv(v, "")
	}
}

// TestVerifyMinIO runs `bucketlink verify` against MinIO with real users
// and policies: full access passes (exit 0); a user lacking s3:PutObject
// fails exactly the write check, with the API's code, message and fix
// (exit 1); a wrong secret fails on the secret's variable (exit 1). The
// table and --json outputs are golden files.
func TestVerifyMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	bucket := testenv.BucketName(t, "doctor")
	m.CreateBucket(t, bucket)
	m.PutObject(t, bucket, "data/train/a.txt", []byte("hello"))
	rwKey, rwSecret := testenv.NewCredentials(t)
	m.AddUser(t, rwKey, rwSecret, testenv.ReadWritePolicy(bucket))
	roKey, roSecret := testenv.NewCredentials(t)
	m.AddUser(t, roKey, roSecret, testenv.PolicyFor(bucket, "s3:GetObject", "s3:DeleteObject"))
	norm := normalizer{bucket, "<bucket>", m.Endpoint, "<endpoint>"}
	base := []string{"verify", "--provider", "s3_compatible", "--endpoint", m.Endpoint, "--path-style",
		"--bucket", bucket, "--prefix", "data", "--allow-private-endpoints=true"}

	for _, tc := range []struct {
		name, key, secret, stdin string
		extra                    []string
		code                     int
		failed                   []string // the checks that fail
	}{
		{name: "pass", key: rwKey, secret: rwSecret, code: exitPassed},
		{name: "pass_json", key: rwKey, secret: rwSecret, extra: []string{"--json"}, code: exitPassed},
		{name: "secret_on_stdin", key: rwKey, stdin: rwSecret + "\n", extra: []string{"--secret-file", "-"}, code: exitPassed},
		{name: "no_write", key: roKey, secret: roSecret, code: exitFailed, failed: []string{"write"}},
		{name: "no_write_json", key: roKey, secret: roSecret, extra: []string{"--json"}, code: exitFailed, failed: []string{"write"}},
		{name: "wrong_secret", key: rwKey, secret: "wrong" + rwSecret[5:], code: exitFailed, failed: []string{"list", "write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearCredentialEnv(t)
			t.Setenv(envAWSAccessKeyID, tc.key)
			t.Setenv(envAWSSecretAccessKey, tc.secret)
			stdout, stderr, code := command(t, tc.stdin, append(append([]string{}, base...), tc.extra...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, secret := range []string{rwSecret, roSecret} {
				if strings.Contains(stdout+stderr, secret) {
					t.Fatal("a secret reached the output")
				}
			}
			if got := failedChecks(t, stdout); strings.Join(got, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed checks %v, want %v:\n%s", got, tc.failed, stdout)
			}
			// Plain progress lines (standard error is no terminal).
			if !strings.Contains(stderr, "Verifying s3_compatible bucket") || !strings.Contains(stderr, "  list: started") ||
				strings.Contains(stderr, "\x1b[") {
				t.Errorf("progress on a non-terminal:\n%s", stderr)
			}
			golden(t, "verify_"+tc.name, norm.apply(stdout))
		})
	}
}

// TestVerifyTerminal runs verify with a pseudo-terminal as standard
// error: the lanes are drawn and redrawn in place (cursor up, erase
// line), with a spinner while a call runs, and the last frame shows each
// check's outcome; the table still goes to standard output. The last
// frame is a golden file.
func TestVerifyTerminal(t *testing.T) {
	m := testenv.StartMinIO(t)
	bucket := testenv.BucketName(t, "doctor")
	m.CreateBucket(t, bucket)
	m.PutObject(t, bucket, "data/a.txt", []byte("hello"))
	key, secret := testenv.NewCredentials(t)
	m.AddUser(t, key, secret, testenv.PolicyFor(bucket, "s3:GetObject", "s3:DeleteObject"))
	clearCredentialEnv(t)
	t.Setenv(envAWSAccessKeyID, key)
	t.Setenv(envAWSSecretAccessKey, secret)

	master, slave := openPTY(t)
	defer master.Close()
	if !isTerminal(slave) {
		t.Fatal("the pty's slave is not a terminal to isTerminal")
	}
	screen := readPTY(master)
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"verify", "--provider", "s3_compatible", "--endpoint", m.Endpoint,
		"--bucket", bucket, "--prefix", "data", "--allow-private-endpoints=true"}, &stdout, slave)
	slave.Close()
	got := string(<-screen)
	if exitCode(err) != exitFailed {
		t.Fatalf("exit %d (%v), want 1", exitCode(err), err)
	}
	const redraw = "\x1b[4A"
	if !strings.Contains(got, redraw) || !strings.Contains(got, "\r\x1b[K") {
		t.Fatalf("no redraw in place on the terminal: %q", got)
	}
	if !strings.ContainsAny(got, strings.Join(spinnerFrames, "")) {
		t.Errorf("no spinner while a call ran: %q", got)
	}
	if strings.Contains(got, "  list: started") {
		t.Errorf("plain progress lines on a terminal: %q", got)
	}
	last := got[strings.LastIndex(got, redraw)+len(redraw):]
	last = strings.NewReplacer("\r\x1b[K", "", "\r\n", "\n").Replace(last)
	golden(t, "verify_tty_last_frame", normalizer{bucket, "<bucket>"}.apply(last))
	if !regexp.MustCompile(`(?m)^write +FAILED +access_denied`).MatchString(stdout.String()) {
		t.Errorf("table on standard output:\n%s", stdout.String())
	}
}

// failedChecks returns the checks that failed (not skipped), from the
// table or the JSON result.
func failedChecks(t *testing.T, stdout string) []string {
	t.Helper()
	var failed []string
	if strings.HasPrefix(stdout, "{") {
		var res checkResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("--json printed %q: %v", stdout, err)
		}
		for _, c := range res.Checks {
			if !c.OK && c.Code != "skipped" {
				failed = append(failed, c.Name)
			}
		}
		return failed
	}
	for _, m := range regexp.MustCompile(`(?m)^(\w+) +FAILED `).FindAllStringSubmatch(stdout, -1) {
		failed = append(failed, m[1])
	}
	return failed
}

// TestVerifyCannotRun checks the could-not-run cases (exit 2): a secret
// flag on the command line, no credentials, a request the API refuses
// (with its fixes on the flags), temporary credentials, and an endpoint
// that does not answer.
func TestVerifyCannotRun(t *testing.T) {
	closed := "http://" + freeAddr(t) // nothing listens there
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		want  string // in stderr
		gold  bool   // stdout is a golden file
		stdin string
	}{
		{name: "secret_flag", args: []string{"--provider", "aws_s3", "--bucket", "b", "--secret-access-key=abc"},
			want: "--secret-access-key would put a secret on the command line"},
		{name: "secret_flag_azure", args: []string{"--provider", "azure_blob", "--bucket", "b", "--sas-token", "sv=x"},
			want: "give it in AZURE_STORAGE_SAS_TOKEN"},
		{name: "no_credentials", args: []string{"--provider", "aws_s3", "--bucket", "b"},
			want: "no credentials for aws_s3: set AWS_ACCESS_KEY_ID, and AWS_SECRET_ACCESS_KEY"},
		{name: "session_token", env: map[string]string{envAWSAccessKeyID: "ASIAX", envAWSSecretAccessKey: "s", envAWSSessionToken: "t"},
			args: []string{"--provider", "aws_s3", "--bucket", "b"}, want: "AWS_SESSION_TOKEN is set"},
		{name: "refused", env: map[string]string{envAWSAccessKeyID: "AKX", envAWSSecretAccessKey: "s"},
			args: []string{"--provider", "s3_compatible", "--bucket", "B!", "--region", "us-east-1"}, want: "the API would refuse this configuration", gold: true},
		{name: "refused_foreign", env: map[string]string{envAzureKey: "a2V5"},
			args: []string{"--provider", "azure_blob", "--account", "acct", "--bucket", "c", "--region", "x"}, want: "the API would refuse this configuration", gold: true},
		{name: "no_provider", args: []string{"--bucket", "b"}, want: "--provider is required"},
		{name: "bad_flag", args: []string{"--provider", "aws_s3", "--nope"}, want: "flag provided but not defined: -nope"},
		{name: "iam_role_without_external_id", args: []string{"--provider", "aws_s3", "--bucket", "bucket", "--region", "us-east-1", "--auth-method", "iam_role",
			"--role-arn", "arn:aws:iam::123456789012:role/r"}, want: "needs --external-id"},
		{name: "unreachable", env: map[string]string{envAWSAccessKeyID: "AKX", envAWSSecretAccessKey: "s"},
			args: []string{"--provider", "s3_compatible", "--endpoint", closed, "--bucket", "bucket", "--allow-private-endpoints=true", "--verify-deadline", "3s"},
			want: "the provider could not be reached from this machine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearCredentialEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stdout, stderr, code := command(t, tc.stdin, append([]string{"verify"}, tc.args...)...)
			if code != exitCannotRun {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "abc") || strings.Contains(stderr, "sv=x") {
				t.Errorf("the refused secret was echoed:\n%s", stderr)
			}
			if tc.gold {
				golden(t, "verify_"+tc.name, stdout)
			}
		})
	}
}

// TestVerifyExitCodes runs the command as a process (this test binary,
// as main) and checks the exit status the shell sees, and that -h
// documents the exit codes.
func TestVerifyExitCodes(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", "-h"}, 0, "Exit codes:\n  0  every check passed\n  1  a check failed"},
		{[]string{"verify", "--provider", "aws_s3", "--bucket", "b"}, 2, "no credentials for aws_s3"},
		{[]string{"verify", "--provider", "aws_s3", "--secret=x"}, 2, "would put a secret on the command line"},
		{[]string{"nope"}, 2, "unknown command"},
	} {
		cmd := exec.Command(self, tc.args...)
		cmd.Env = append(os.Environ(), "BUCKETLINK_TEST_MAIN=1", envAWSAccessKeyID+"=", envAWSSecretAccessKey+"=")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("bucketlink %v: exit %d (want %d)\n%s", tc.args, code, tc.code, out)
		}
	}
}
