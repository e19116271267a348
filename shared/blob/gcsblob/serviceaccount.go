package gcsblob

import (
	"context"
	"fmt"
	"net/http"

	"cloud.google.com/go/auth"

	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
)

// GoogleTokenURL is the OAuth token endpoint every token comes from
// outside tests, whatever the key's token_uri says: a user-supplied key
// must not make the service post to a URL of the user's choosing.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// tokenScope is the OAuth scope requested: objects and bucket metadata,
// without IAM policies.
const tokenScope = "https://www.googleapis.com/auth/devstorage.read_write"

// credentials returns credentials that exchange a JWT signed with the key
// for access tokens (OAuth 2.0 two-legged flow) at tokenURL (GoogleTokenURL
// when empty), over client, with the caller's context.
func credentials(sa gcskey.ServiceAccount, client *http.Client, tokenURL string) (*auth.Credentials, error) {
	if tokenURL == "" {
		tokenURL = GoogleTokenURL
	}
	tp, err := auth.New2LOTokenProvider(&auth.Options2LO{
		Email:        sa.ClientEmail,
		PrivateKey:   []byte(sa.PrivateKey),
		PrivateKeyID: sa.PrivateKeyID,
		Scopes:       []string{tokenScope},
		TokenURL:     tokenURL,
		Client:       client,
	})
	if err != nil {
		return nil, fmt.Errorf("token provider: %w", err)
	}
	project := sa.ProjectID
	return auth.NewCredentials(&auth.CredentialsOptions{
		// Synchronous refresh: every exchange runs under a caller's context.
		TokenProvider: auth.NewCachedTokenProvider(tp, &auth.CachedTokenProviderOptions{DisableAsyncRefresh: true}),
		ProjectIDProvider: auth.CredentialsPropertyFunc(func(context.Context) (string, error) {
			return project, nil
		}),
		UniverseDomainProvider: auth.CredentialsPropertyFunc(func(context.Context) (string, error) {
			return "googleapis.com", nil
		}),
	}), nil
}

// ValidateServiceAccountJSON lists what is wrong with a service-account
// JSON key; see gcskey.Validate.
func ValidateServiceAccountJSON(s string) []string { return gcskey.Validate(s) }
