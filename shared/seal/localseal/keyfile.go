package localseal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// KeySize is the size in bytes of the master key file: an AES-256 key.
const KeySize = 32

// loadOrCreateKey returns the key stored at path, creating the file with a
// fresh random key first if it does not exist. Creation is atomic: the key
// is written to a temporary file in the same directory and hard-linked into
// place, which fails if another process got there first, so concurrent
// starters all end up reading the one complete file that won.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return readKey(path)
}

// readKey reads and checks the key file at path. A missing file is an error
// matching fs.ErrNotExist.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("localseal: open master key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("localseal: stat master key file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("localseal: master key file %s is not a regular file (mode %s)", path, info.Mode())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("localseal: master key file %s is accessible by group or others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	// Read one byte more than needed to tell "exactly KeySize" from "longer".
	buf := make([]byte, KeySize+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		clear(buf)
		return nil, fmt.Errorf("localseal: read master key file %s: %w", path, err)
	}
	if n != KeySize {
		clear(buf)
		if n > KeySize {
			return nil, fmt.Errorf("localseal: master key file %s is longer than %d bytes", path, KeySize)
		}
		return nil, fmt.Errorf("localseal: master key file %s has %d bytes, want %d", path, n, KeySize)
	}
	key := make([]byte, KeySize)
	copy(key, buf)
	clear(buf)
	return key, nil
}

// createKey writes a new random key to path unless a file is already there,
// in which case it returns an error matching fs.ErrExist.
func createKey(path string) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("localseal: create master key file in %s: %w", dir, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	// CreateTemp already uses 0600; make it explicit in case of odd umasks
	// or platforms.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("localseal: chmod new master key file: %w", err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("localseal: generate master key: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		return fmt.Errorf("localseal: write new master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("localseal: sync new master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localseal: close new master key file: %w", err)
	}
	// Link, unlike rename, never replaces an existing file: exactly one
	// concurrent creator wins and the others see fs.ErrExist.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("localseal: install master key file %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable where the platform allows;
// failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
