// Package sqlitestore is the embedded store.Store of the local process: one
// SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The file runs in WAL mode with secure_delete on, so a deleted config's
// sealed credentials are overwritten with zeros rather than left in a free
// page; Close checkpoints and removes the write-ahead log, which may hold
// older copies until then.
//
// Writes go through a pool of exactly one connection, so writers of this
// process queue in Go instead of failing with SQLITE_BUSY; reads use a
// separate pool of read-only connections, which WAL lets run alongside the
// writer. busy_timeout covers other processes using the same file.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/store"
)

// Store is a store.Store kept in one SQLite database file.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // read-only connections
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating the file and its schema if they
// do not exist and migrating an older schema.
func Open(ctx context.Context, path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, "journal_mode(WAL)", "secure_delete(1)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s for reading: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite %s for reading: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// dsn returns the driver's DSN for path with the common pragmas and extra.
func dsn(path string, extra ...string) string {
	q := url.Values{}
	for _, p := range append([]string{"busy_timeout(5000)", "foreign_keys(1)"}, extra...) {
		q.Add("_pragma", p)
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close checkpoints the write-ahead log into the database file, truncates
// it, and closes every connection. The last connection to close removes the
// log file.
func (s *Store) Close() error {
	rerr := s.r.Close()
	// Best effort: a reader in another process may hold the log open.
	_, cerr := s.w.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	werr := s.w.Close()
	if err := errors.Join(rerr, cerr, werr); err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

// classify turns a driver error into one that matches the errcode
// sentinels: unique-key collisions become AlreadyExists, a missing row or
// referenced parent NotFound, a locked database Unavailable. Context errors
// stay matchable with errors.Is.
func classify(ctx context.Context, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errcode.Wrap(errcode.NotFound, err, "not found")
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return errcode.Wrap(errcode.AlreadyExists, err, "already exists")
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errcode.Wrap(errcode.NotFound, err, "referenced org or user not found")
	case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
		return errcode.Wrap(errcode.Unavailable, err, "database busy")
	case code&0xff == sqlite3.SQLITE_INTERRUPT && ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// micros is how times are stored: UTC microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros is the inverse of micros; the result is in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fromNullMicros is the inverse of nullMicros.
func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}
