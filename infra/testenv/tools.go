// Package testenv installs nothing itself: it finds the pinned tools that
// install-tools.sh put in .tools/bin and starts them for tests (a real MinIO
// server, a hanging endpoint, a refused port). Everything it starts is
// stopped when the test (or, for shared servers, the test binary) ends.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ToolsEnv names an environment variable that, when set, is the directory
// holding the tool binaries (instead of <repo>/.tools/bin).
const ToolsEnv = "BUCKETLINK_TOOLS"

// ToolPath returns the path of the installed tool name. When it is missing
// the test fails if CI=true and is skipped otherwise; either way the message
// says to run `make tools`.
func ToolPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := findTool(name)
	if err == nil {
		return p
	}
	Missing(tb, fmt.Sprintf("testenv: %v; run make tools (infra/testenv/install-tools.sh)", err))
	return ""
}

// Missing is the one policy for a tool a test needs that is not
// installed: with CI=true the test fails, otherwise it is skipped; either
// way with msg, which should say how to install it.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

func findTool(name string) (string, error) {
	dir := os.Getenv(ToolsEnv)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".tools", "bin")
	}
	p := filepath.Join(dir, name)
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("tool %s not installed: %w", name, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("tool %s at %s is not an executable file", name, p)
	}
	return p, nil
}

// RepoRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repo root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}
