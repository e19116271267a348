package blobtest

import "net/http"

// HeaderClient returns an HTTP client for Harness.HTTPClient that adds
// headers to every request it sends, for providers whose presigned PUT
// URLs work only with some request headers (Azure's Put Blob needs
// x-ms-blob-type: BlockBlob; see azureblob.PresignPutHeaders). The
// driver, not the suite, names the headers, so the suite's PresignPut case
// stays the same for every provider. base nil means a plain client.
func HeaderClient(base *http.Client, headers map[string]string) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c := *base
	c.Transport = &headerTransport{base: rt, headers: headers}
	return &c
}

// headerTransport sets headers on a clone of each request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}
