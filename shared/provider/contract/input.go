package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/bucketlink/bucketlink/shared/errcode"
)

// Input is a decoded request body: present fields only, nulls dropped
// (and listed in Null, for the fields where null means something).
type Input struct {
	Str  map[string]string
	Bool map[string]bool
	Num  map[string]int64
	// List holds the Strings fields; an empty array is present, and
	// non-nil.
	List map[string][]string
	Null map[string]bool
}

// Has reports whether field f was given, and not null.
func (in Input) Has(f string) bool {
	_, s := in.Str[f]
	_, b := in.Bool[f]
	_, n := in.Num[f]
	_, l := in.List[f]
	return s || b || n || l
}

// DecodeObject decodes a JSON object field by field, so that every type
// error is reported on its own field and all at once; fields not in known
// are unknown.
func DecodeObject(body []byte, known map[string]Kind) (Input, errcode.FieldErrors) {
	errs := errcode.FieldErrors{}
	in := Input{Str: map[string]string{}, Bool: map[string]bool{}, Num: map[string]int64{}, List: map[string][]string{}, Null: map[string]bool{}}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		errs.Add(errcode.NonField, "%s", describeJSONError(err))
		return in, errs
	}
	if raw == nil {
		errs.Add(errcode.NonField, "The request body must be a JSON object.")
		return in, errs
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		errs.Add(errcode.NonField, "Malformed JSON: unexpected data after the JSON object.")
		return in, errs
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		kind, ok := known[k]
		if !ok {
			errs.Add(k, "Unknown field; remove it or check its spelling.")
			continue
		}
		if string(v) == "null" {
			in.Null[k] = true
			continue
		}
		switch kind {
		case String:
			var s string
			if json.Unmarshal(v, &s) != nil {
				errs.Add(k, "Not a valid string.")
				continue
			}
			in.Str[k] = s
		case Bool:
			var b bool
			if json.Unmarshal(v, &b) != nil {
				errs.Add(k, "Must be a valid boolean (true or false).")
				continue
			}
			in.Bool[k] = b
		case Int:
			var n int64
			if json.Unmarshal(v, &n) != nil {
				errs.Add(k, "A valid integer is required.")
				continue
			}
			in.Num[k] = n
		case Strings:
			l := []string{}
			if json.Unmarshal(v, &l) != nil || l == nil {
				errs.Add(k, "Must be a list of strings.")
				continue
			}
			in.List[k] = l
		}
	}
	return in, errs
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "The request body is empty; send a JSON object."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "Malformed JSON: the body ends before the JSON object does."
	case errors.As(err, &syn):
		return fmt.Sprintf("Malformed JSON at byte %d: %s.", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		return "The request body must be a JSON object."
	}
	return "Malformed JSON."
}
