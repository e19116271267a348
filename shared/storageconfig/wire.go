package storageconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bucketlink/bucketlink/shared/provider"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// TimeFormat is how every timestamp is written on the wire: UTC ISO 8601 with
// a Z, to the second, as the API documents ("2025-01-15T09:30:00Z").
const TimeFormat = "2006-01-02T15:04:05Z"

// Response is a storage config as the API returns it. The documented fields
// come first; the rest are additions. Every provider's fields are written
// (provider.Fields, in the registry's order): those of the config's provider
// with its values, the others null, except s3_is_accelerated, which the spec
// types as a plain boolean and so is false there. Credentials are never
// part of it.
type Response struct {
	UID string
	// ID is additive: the integer id the bucket-verify API calls bucketId.
	ID             int64
	Name           string
	Provider       string
	IsVerified     bool
	LastVerifiedAt *string
	CreatedAt      string
	UpdatedAt      string
	// ReverifyIntervalSeconds is how often the config is re-tested on a
	// schedule; null when re-verification is off. NextReverifyAt is when
	// the next scheduled test is due (null when off).
	ReverifyIntervalSeconds *int64
	NextReverifyAt          *string
	// AccessMode is additive: read_write or read_only.
	AccessMode string
	// CORSOrigins is additive: the config's own app origins, null when
	// it uses the operator's (Config.CORSOrigins).
	CORSOrigins []string
	// Fields are the provider's wire values (Settings.Wire).
	Fields map[string]any
}

// wireFields are the providers' fields the wire carries, in order.
var wireFields = func() []contract.Field {
	var out []contract.Field
	for _, f := range provider.Fields() {
		if !f.WriteOnly {
			out = append(out, f)
		}
	}
	return out
}()

// MarshalJSON writes r in the documented order: uid, id, name, provider,
// the documented provider fields, is_verified and the times, the added
// provider fields, then the re-verification schedule, the access mode and the CORS origins.
func (r Response) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	first := true
	put := func(name string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		val, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(val)
		return nil
	}
	providerFields := func(documented bool) error {
		for _, f := range wireFields {
			if f.Documented != documented {
				continue
			}
			v, ok := r.Fields[f.Name]
			if (!ok || v == nil) && f.FalseWhenAbsent {
				v = false
			}
			if err := put(f.Name, v); err != nil {
				return err
			}
		}
		return nil
	}
	b.WriteByte('{')
	for _, kv := range []struct {
		k string
		v any
	}{{"uid", r.UID}, {"id", r.ID}, {"name", r.Name}, {"provider", r.Provider}} {
		if err := put(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	if err := providerFields(true); err != nil {
		return nil, err
	}
	for _, kv := range []struct {
		k string
		v any
	}{{"is_verified", r.IsVerified}, {"last_verified_at", r.LastVerifiedAt}, {"created_at", r.CreatedAt}, {"updated_at", r.UpdatedAt}} {
		if err := put(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	if err := providerFields(false); err != nil {
		return nil, err
	}
	if err := put(fieldReverifyInterval, r.ReverifyIntervalSeconds); err != nil {
		return nil, err
	}
	if err := put("next_reverify_at", r.NextReverifyAt); err != nil {
		return nil, err
	}
	if err := put(fieldAccessMode, r.AccessMode); err != nil {
		return nil, err
	}
	if err := put(fieldCORSOrigins, r.CORSOrigins); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ToResponse renders c in the documented shape.
func ToResponse(c *Config) Response {
	r := Response{
		UID:         c.UID,
		ID:          c.ID,
		Name:        c.Name,
		Provider:    string(c.Provider),
		IsVerified:  c.IsVerified,
		CreatedAt:   FormatTime(c.CreatedAt),
		UpdatedAt:   FormatTime(c.UpdatedAt),
		AccessMode:  string(c.Mode()),
		CORSOrigins: c.CORSOrigins,
	}
	if !c.LastVerifiedAt.IsZero() {
		r.LastVerifiedAt = ptr(FormatTime(c.LastVerifiedAt))
	}
	if c.Reverifies() {
		r.ReverifyIntervalSeconds = ptr(int64(c.ReverifyInterval / time.Second))
		r.NextReverifyAt = ptr(FormatTime(c.NextReverifyAt))
	}
	if c.Settings != nil {
		r.Fields = c.Settings.Wire()
	}
	return r
}

// FormatTime writes t as the API does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func ptr[T any](v T) *T { return &v }

// UnmarshalJSON reads a config as MarshalJSON writes it (a client of the
// API, such as the operator command): the common fields, and every other
// field into Fields.
func (r *Response) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	core := map[string]any{"uid": &r.UID, "id": &r.ID, "name": &r.Name, "provider": &r.Provider,
		"is_verified": &r.IsVerified, "last_verified_at": &r.LastVerifiedAt, "created_at": &r.CreatedAt,
		"updated_at": &r.UpdatedAt, fieldReverifyInterval: &r.ReverifyIntervalSeconds, "next_reverify_at": &r.NextReverifyAt,
		fieldAccessMode: &r.AccessMode, fieldCORSOrigins: &r.CORSOrigins}
	r.Fields = map[string]any{}
	for k, v := range raw {
		if dst, ok := core[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("field %s: %w", k, err)
			}
			continue
		}
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		if val != nil {
			r.Fields[k] = val
		}
	}
	return nil
}

// Settings returns the provider's settings a response carries.
func (r Response) Settings() (Settings, error) {
	return LegacySettings(Provider(r.Provider), r.Fields)
}
