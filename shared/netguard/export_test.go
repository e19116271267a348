package netguard

import "net/http"

// BaseTransport returns the *http.Transport inside a client HTTPClient
// built, for tests that inspect or rewire its dialling.
func BaseTransport(c *http.Client) *http.Transport { return c.Transport.(*Transport).base }
