package openapitest

import (
	"bytes"
	"encoding/json"
)

// jsonDecode decodes body as kin-openapi decodes JSON bodies (numbers as
// float64).
func jsonDecode(body []byte, v any) error {
	return json.NewDecoder(bytes.NewReader(body)).Decode(v)
}
