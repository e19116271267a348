package storageconfig

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// MaxNameLen bounds a config's name.
const MaxNameLen = 255

// MaxPrefixLen bounds a key prefix.
const MaxPrefixLen = contract.MaxPrefixLen

const required = contract.Required

func checkName(errs errcode.FieldErrors, name string, present bool) string {
	name = strings.TrimSpace(name)
	switch {
	case !present:
		errs.Add("name", required)
	case name == "":
		errs.Add("name", "This field may not be blank.")
	case utf8.RuneCountInString(name) > MaxNameLen:
		errs.Add("name", "Ensure this field has no more than %d characters.", MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs.Add("name", "The name may not contain control characters.")
	}
	return name
}

// NormalizePrefix returns p without leading slashes and with one trailing
// slash ("" stays ""), or a message saying what is wrong with it
// (contract.NormalizePrefix: every provider's prefix follows it).
func NormalizePrefix(p string) (string, string) { return contract.NormalizePrefix(p) }
