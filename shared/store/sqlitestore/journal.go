package sqlitestore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bucketlink/bucketlink/shared/queue"
)

// Journal is the queue.Journal of the in-process work queue, kept in the
// store's file (table queue_journal): what `bucketlink serve` has
// accepted to do survives a crash of the process. Get it with
// Store.QueueJournal.
type Journal struct{ s *Store }

var _ queue.Journal = (*Journal)(nil)

// QueueJournal returns the journal of the in-process queue in this store.
func (s *Store) QueueJournal() *Journal { return &Journal{s: s} }

// Append inserts msgs in one transaction and returns their row ids.
func (j *Journal) Append(ctx context.Context, msgs []queue.Message) (ids []int64, err error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	tx, err := j.s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("append to the queue journal: %w", classify(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that matters is err
		}
	}()
	now := micros(time.Now())
	ids = make([]int64, len(msgs))
	for i, m := range msgs {
		res, err := tx.ExecContext(ctx, `INSERT INTO queue_journal (kind, key, grp, created_at, recoveries) VALUES (?, ?, ?, ?, 0)`,
			string(m.Kind), m.Key, m.Group, now)
		if err != nil {
			return nil, fmt.Errorf("append to the queue journal: %w", classify(ctx, err))
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("append to the queue journal: %w", err)
		}
	}
	if err := commit(ctx, tx); err != nil {
		return nil, fmt.Errorf("append to the queue journal: %w", err)
	}
	return ids, nil
}

// maxRemove bounds the ids of one DELETE (SQLite's limit on bound
// parameters is 32766).
const maxRemove = 500

// Remove deletes the entries with ids.
func (j *Journal) Remove(ctx context.Context, ids ...int64) error {
	for len(ids) > 0 {
		n := min(len(ids), maxRemove)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		q := `DELETE FROM queue_journal WHERE id IN (?` + strings.Repeat(", ?", n-1) + `)`
		if _, err := j.s.w.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("remove from the queue journal: %w", classify(ctx, err))
		}
		ids = ids[n:]
	}
	return nil
}

// Recover counts a recovery of every entry and returns them oldest first,
// in one transaction; rows that are not valid messages are deleted.
func (j *Journal) Recover(ctx context.Context) (out []queue.JournalEntry, err error) {
	tx, err := j.s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that matters is err
		}
	}()
	if _, err := tx.ExecContext(ctx, `UPDATE queue_journal SET recoveries = recoveries + 1`); err != nil {
		return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, kind, key, grp, recoveries FROM queue_journal ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
	}
	var bad []int64
	for rows.Next() {
		var e queue.JournalEntry
		var kind string
		if err := rows.Scan(&e.ID, &kind, &e.Message.Key, &e.Message.Group, &e.Recoveries); err != nil {
			rows.Close()
			return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
		}
		e.Message.Kind = queue.Kind(kind)
		if e.Message.Validate() != nil {
			bad = append(bad, e.ID)
			continue
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
	}
	rows.Close()
	for _, id := range bad {
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_journal WHERE id = ?`, id); err != nil {
			return nil, fmt.Errorf("recover the queue journal: %w", classify(ctx, err))
		}
	}
	if err := commit(ctx, tx); err != nil {
		return nil, fmt.Errorf("recover the queue journal: %w", err)
	}
	return out, nil
}
