package contract

import (
	"encoding/json"
	"fmt"
)

// DecodeJSON reads the settings document of provider name (what
// Provider.Decode is given) into a new S: the one body of every
// provider's Decode.
func DecodeJSON[S any](name string, doc []byte) (*S, error) {
	s := new(S)
	if err := json.Unmarshal(doc, s); err != nil {
		return nil, fmt.Errorf("%s settings: %w", name, err)
	}
	return s, nil
}
