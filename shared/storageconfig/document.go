package storageconfig

import (
	"encoding/json"
	"fmt"

	"github.com/bucketlink/bucketlink/shared/provider"
)

// EncodeSettings returns the document stores keep for c's settings: one
// JSON object of the provider's fields (by their wire names), so that a
// store holds no provider columns, and of the access mode of a read_only
// config ("access_mode", a field of every provider, which no provider's
// settings use; left out for read_write, so that those documents are as
// before).
func EncodeSettings(c *Config) ([]byte, error) {
	if c.Settings == nil {
		return nil, fmt.Errorf("config %s has no settings", c.UID)
	}
	doc, err := json.Marshal(c.Settings)
	if err != nil {
		return nil, fmt.Errorf("encode settings of %s: %w", c.UID, err)
	}
	if !c.ReadOnly() {
		return doc, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		return nil, fmt.Errorf("encode settings of %s: %w", c.UID, err)
	}
	fields[fieldAccessMode], _ = json.Marshal(c.AccessMode)
	if doc, err = json.Marshal(fields); err != nil {
		return nil, fmt.Errorf("encode settings of %s: %w", c.UID, err)
	}
	return doc, nil
}

// DecodeDocument sets c's settings and access mode from a document written
// by EncodeSettings for a config of c.Provider.
func DecodeDocument(c *Config, doc []byte) error {
	s, err := DecodeSettings(c.Provider, doc)
	if err != nil {
		return err
	}
	var common struct {
		AccessMode AccessMode `json:"access_mode"`
	}
	if err := json.Unmarshal(doc, &common); err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	c.Settings, c.AccessMode = s, common.AccessMode
	return nil
}

// DecodeSettings reads the provider's settings of a document written by
// EncodeSettings for a config of provider p.
func DecodeSettings(p Provider, doc []byte) (Settings, error) {
	pr, ok := provider.Lookup(string(p))
	if !ok {
		return nil, fmt.Errorf("decode settings: unknown provider %q", p)
	}
	return pr.Decode(doc)
}

// LegacySettings builds the settings of a config stored before providers
// were packages, when each provider field had its own column or
// attribute named as the field is on the wire: fields holds those values
// (strings and booleans) by name. Only the fields provider p accepts are
// read; the rest were written empty for every config.
func LegacySettings(p Provider, fields map[string]any) (Settings, error) {
	pr, ok := provider.Lookup(string(p))
	if !ok {
		return nil, fmt.Errorf("upgrade settings: unknown provider %q", p)
	}
	doc := map[string]any{}
	for name, v := range fields {
		if provider.Accepts(pr, name) {
			doc[name] = v
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("upgrade settings: %w", err)
	}
	return pr.Decode(raw)
}
