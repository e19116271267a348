package awsapp

import (
	"net/http"
	"net/url"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// gatewayPublicURL is the public base URL of a request that API Gateway
// delivered: https and the domain name of its request context (the
// execute-api domain, or the custom domain the client called), which API
// Gateway sets and the client cannot. The adapter (httpadapter.NewV2 with
// ProxyWithContext) puts the request context into the request's context;
// it also takes r.Host from that domain, but the Host header the client
// sent lands in r.Header, and GO_API_HOST would override r.Host, so the
// links read the domain here, from the source. A request without that
// context (not from the adapter) gets relative links.
func gatewayPublicURL(r *http.Request) (*url.URL, bool) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.DomainName == "" {
		return nil, false
	}
	u, err := url.Parse("https://" + rc.DomainName)
	if err != nil || u.Host != rc.DomainName || u.Path != "" || u.User != nil {
		return nil, false
	}
	return u, true
}
