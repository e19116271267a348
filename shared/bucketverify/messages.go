package bucketverify

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider"
)

// apiFields maps the storage-config field names that validation and check
// messages use to the request field that holds the same value here: the
// union of the providers' mappings (contract.BucketVerify.Fields), which
// agree where they share a field.
var apiFields = func() map[string]string {
	out := map[string]string{}
	for _, p := range provider.All {
		if bv := p.BucketVerify(); bv != nil {
			for f, api := range bv.Fields {
				out[f] = api
			}
		}
	}
	return out
}()

// APIField returns the request field of this API that holds the value of
// the storage-config field name; other names are returned unchanged.
func APIField(name string) string {
	if f, ok := apiFields[name]; ok {
		return f
	}
	return name
}

// messageReplacer rewrites the storage-config names inside messages.
var messageReplacer = func() *strings.Replacer {
	var pairs []string
	for _, p := range provider.All {
		if bv := p.BucketVerify(); bv != nil {
			pairs = append(pairs, "provider "+p.Name(), `storageProvider "`+bv.StorageProvider+`"`)
		}
	}
	// Longer names first, so that none is cut short by a shorter one.
	names := slices.SortedFunc(maps.Keys(apiFields), func(a, b string) int { return len(b) - len(a) })
	for _, n := range names {
		if apiFields[n] != FieldBucketID {
			pairs = append(pairs, n, apiFields[n])
		}
	}
	return strings.NewReplacer(pairs...)
}()

// TranslateMessage rewrites the storage-config field and provider names
// in a validation or check message into this API's.
func TranslateMessage(m string) string { return messageReplacer.Replace(m) }

// Message renders a validation error as the one "error" string of the API:
// each message prefixed with its field ("bucket: ..."), in the order of
// the request's fields, messages on the whole request last and
// unprefixed. An error that is not errcode.FieldErrors gives a generic
// message.
func Message(err error) string {
	var fe errcode.FieldErrors
	if !errors.As(err, &fe) {
		return "The request is invalid."
	}
	return render(fe)
}

// ConnectionError renders the field errors of a failed verification (keyed
// by storage-config field names, as verify reports them) as the
// connectionError of the API, in its field names.
func ConnectionError(fe errcode.FieldErrors) string {
	out := errcode.FieldErrors{}
	for field, msgs := range fe {
		for _, m := range msgs {
			out.Add(APIField(field), "%s", TranslateMessage(m))
		}
	}
	return render(out)
}

func render(fe errcode.FieldErrors) string {
	keys := slices.SortedFunc(maps.Keys(fe), func(a, b string) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		for _, m := range fe[k] {
			if k == errcode.NonField {
				parts = append(parts, m)
			} else {
				parts = append(parts, k+": "+m)
			}
		}
	}
	return strings.Join(parts, " ")
}

// rank orders fields: the request's in their order, then unknown ones,
// then the whole request's.
func rank(field string) int {
	if i := slices.Index(fieldOrder, field); i >= 0 {
		return i
	}
	if field == errcode.NonField {
		return len(fieldOrder) + 1
	}
	return len(fieldOrder)
}
