package seal

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrNotJSON is the error of OpenJSON for a plaintext that is not the JSON
// of the document asked for.
var ErrNotJSON = errors.New("seal: the opened document does not decode")

// OpenJSON opens sealed with s under b and decodes the plaintext, a JSON
// document, into v; the plaintext is cleared before it returns. It is the
// one way the service opens a sealed document. A plaintext that does not
// decode gives ErrNotJSON and nothing more: encoding/json's errors can
// quote their input, here a secret, so theirs is never returned (nor,
// therefore, logged). The error of s.Open is returned as it is.
func OpenJSON(ctx context.Context, s Sealer, sealed []byte, b Binding, v any) error {
	plain, err := s.Open(ctx, sealed, b)
	if err != nil {
		return err
	}
	defer clear(plain)
	if json.Unmarshal(plain, v) != nil {
		return ErrNotJSON
	}
	return nil
}
