package gcsblob

import (
	"fmt"
	"log/slog"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/httptransport"

	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
)

// GoogleTokenURL is the OAuth token endpoint every token comes from
// outside tests, whatever the key's token_uri says: a user-supplied key
// must not make the service post to a URL of the user's choosing.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// tokenScope is the OAuth scope requested: objects and bucket metadata,
// without IAM policies.
const tokenScope = "https://www.googleapis.com/auth/devstorage.read_write"

// newCredentials returns the credentials of sa: the SDK's two-legged
// OAuth flow (a JWT assertion signed with the key, exchanged for access
// tokens) against tokenURL (GoogleTokenURL when empty), over hc, behind
// the SDK's token cache.
//
// The token provider is built from the parsed key rather than by
// credentials.NewCredentialsFromJSON (the successor of
// option.WithCredentialsJSON), which would post to the key's token_uri,
// turn a key naming another universe_domain into self-signed tokens, and,
// when GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED is set, call IAM for the
// account's allowed locations. Tokens are refreshed only under the
// context of the request that needs one (no background refresh), so the
// caller's deadline bounds every exchange.
func newCredentials(sa gcskey.ServiceAccount, hc *http.Client, tokenURL string) (*auth.Credentials, error) {
	if tokenURL == "" {
		tokenURL = GoogleTokenURL
	}
	tp, err := auth.New2LOTokenProvider(&auth.Options2LO{
		Email:        sa.ClientEmail,
		PrivateKey:   []byte(sa.PrivateKey),
		PrivateKeyID: sa.PrivateKeyID,
		Scopes:       []string{tokenScope},
		TokenURL:     tokenURL,
		Client:       hc,
		// No debug logging from GOOGLE_SDK_GO_LOGGING_LEVEL: it would log
		// the exchange.
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, fmt.Errorf("token provider: %w", err)
	}
	return auth.NewCredentials(&auth.CredentialsOptions{
		TokenProvider: auth.NewCachedTokenProvider(tp, &auth.CachedTokenProviderOptions{
			DisableAsyncRefresh: true,
		}),
	}), nil
}

// addAuth puts the SDK's authorization middleware on hc: each request
// gets the access token of creds, fetched under the request's context.
// The SDK adds none itself to a client given with option.WithHTTPClient.
func addAuth(hc *http.Client, creds *auth.Credentials) error {
	if err := httptransport.AddAuthorizationMiddleware(hc, creds); err != nil {
		return fmt.Errorf("gcsblob: authorization: %w", err)
	}
	return nil
}

// ValidateServiceAccountJSON lists what is wrong with a service-account
// JSON key; see gcskey.Validate.
func ValidateServiceAccountJSON(s string) []string { return gcskey.Validate(s) }

// impersonatedCredentials returns credentials whose tokens im fetches
// (generateAccessToken), cached for the Bucket's life and refreshed only
// under the context of the request that needs one.
func impersonatedCredentials(im *impersonator) *auth.Credentials {
	return auth.NewCredentials(&auth.CredentialsOptions{
		TokenProvider: auth.NewCachedTokenProvider(im, &auth.CachedTokenProviderOptions{
			DisableAsyncRefresh: true,
		}),
	})
}
