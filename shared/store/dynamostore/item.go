package dynamostore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute value constructors.

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func boolean(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

func bin(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

// micros stores a time as its Unix microseconds (times are kept at
// microsecond precision, like the SQLite store).
func micros(t time.Time) types.AttributeValue { return num(t.UnixMicro()) }

// putOptional sets item[name] to micros(t), or leaves it out for the zero
// time, which is how "never" is stored.
func putOptionalTime(item map[string]types.AttributeValue, name string, t time.Time) {
	if !t.IsZero() {
		item[name] = micros(t)
	}
}

// reader decodes attributes of one item, remembering the first problem so
// that a decoder can read every field and check once.
type reader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *reader) fail(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %s: missing or not %s", name, want)
	}
}

// str returns a required string attribute.
func (r *reader) str(name string) string {
	v, ok := r.item[name].(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "a string")
		return ""
	}
	return v.Value
}

// num returns a required number attribute that fits an int64.
func (r *reader) num(name string) int64 {
	v, ok := r.item[name].(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "a number")
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.fail(name, "an integer")
		return 0
	}
	return n
}

// boolean returns a required boolean attribute.
func (r *reader) boolean(name string) bool {
	v, ok := r.item[name].(*types.AttributeValueMemberBOOL)
	if !ok {
		r.fail(name, "a boolean")
		return false
	}
	return v.Value
}

// optionalBytes returns a binary attribute, or nil when it is absent.
func (r *reader) optionalBytes(name string) []byte {
	av, present := r.item[name]
	if !present {
		return nil
	}
	v, ok := av.(*types.AttributeValueMemberB)
	if !ok {
		r.fail(name, "binary")
		return nil
	}
	return v.Value
}

// time returns a required time stored by micros, in UTC.
func (r *reader) time(name string) time.Time {
	return time.UnixMicro(r.num(name)).UTC()
}

// optionalTime returns a time stored by putOptionalTime, zero when absent.
func (r *reader) optionalTime(name string) time.Time {
	if _, present := r.item[name]; !present {
		return time.Time{}
	}
	return r.time(name)
}
