package verify

import (
	"errors"
	"time"

	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// precheck asks the config's provider whether its credentials can serve,
// as far as they say themselves (contract.Prechecker: an Azure SAS token
// that expired or lacks a permission), and records why not as the outcome
// of each check. It returns false when they can serve.
func (r *run) precheck(now time.Time) bool {
	pc, ok := r.cfg.Settings.(contract.Prechecker)
	if !ok {
		return false
	}
	all, each, notRun, fine := pc.Precheck(r.creds, now)
	switch {
	case fine:
		return false
	case all != nil:
		r.failAll(all)
		return true
	}
	for name, o := range map[string]*outcome{CheckList: &r.list, CheckRead: &r.read, CheckWrite: &r.write, CheckDelete: &r.del} {
		if err := each[name]; err != nil {
			*o = outcome{err: err}
		} else {
			*o = outcome{notRun: notRun}
		}
	}
	// A presigned PUT needs the write permission, which the write check
	// already reports on.
	r.presign = outcome{notRun: notRun}
	return true
}

// isLocal reports an error found without connecting to the provider.
func isLocal(err error) bool {
	var le contract.LocalError
	return errors.As(err, &le)
}
