package storageconfig

import (
	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// AccessMode is what the platform may do in a config's bucket
// (access_mode, additive): read and write, the default, or only read. The
// checks follow it: a read_only config is listed and read, and the
// write, delete and presigned-PUT checks are skipped, with the reason.
type AccessMode string

// The access modes.
const (
	AccessReadWrite AccessMode = "read_write"
	AccessReadOnly  AccessMode = "read_only"
)

// fieldAccessMode is the request and response field of the access mode.
const fieldAccessMode = "access_mode"

// Mode returns c's access mode: AccessReadWrite when unset.
func (c *Config) Mode() AccessMode {
	if c.AccessMode == "" {
		return AccessReadWrite
	}
	return c.AccessMode
}

// ReadOnly reports a config whose bucket the platform only reads.
func (c *Config) ReadOnly() bool { return c.Mode() == AccessReadOnly }

// parseAccessMode reads access_mode of in: the mode and whether the
// request set it. Null, like absence, is the default.
func parseAccessMode(errs errcode.FieldErrors, in contract.Input) (AccessMode, bool) {
	v, ok := in.Str[fieldAccessMode]
	if !ok {
		return AccessReadWrite, in.Null[fieldAccessMode]
	}
	switch m := AccessMode(v); m {
	case AccessReadWrite, AccessReadOnly:
		return m, true
	}
	errs.Add(fieldAccessMode, "Use \"read_write\" (the default: the platform reads and writes) or \"read_only\" (it only lists and reads).")
	return AccessReadWrite, false
}
