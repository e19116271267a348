package store

import (
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// MaxLimit is the largest page ListConfigs returns.
const MaxLimit = 1000

// Validate reports whether o selects a page: Limit in 1..MaxLimit and at most
// one of After and Before set. The error has code errcode.InvalidArgument.
// Every Configs implementation calls it first in ListConfigs.
func (o ListOptions) Validate() error {
	if o.Limit < 1 || o.Limit > MaxLimit {
		return errcode.New(errcode.InvalidArgument, "page size %d: use 1 to %d", o.Limit, MaxLimit)
	}
	if o.After != nil && o.Before != nil {
		return errcode.New(errcode.InvalidArgument, "page: set at most one of after and before")
	}
	return nil
}

// Compare orders positions by (CreatedAt, UID) ascending: it returns -1 when
// p is older than q (p lists after q, newest first), +1 when p is newer, and
// 0 when both name the same point. UIDs compare byte-wise, as the stores do.
func (p Position) Compare(q Position) int {
	switch {
	case p.CreatedAt.Before(q.CreatedAt):
		return -1
	case p.CreatedAt.After(q.CreatedAt):
		return 1
	}
	return strings.Compare(p.UID, q.UID)
}
