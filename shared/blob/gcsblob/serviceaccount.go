package gcsblob

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
)

// GoogleTokenURL is the OAuth token endpoint every token comes from
// outside tests, whatever the key's token_uri says: a user-supplied key
// must not make the service post to a URL of the user's choosing.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// tokenScope is the OAuth scope requested: objects and bucket metadata,
// without IAM policies.
const tokenScope = "https://www.googleapis.com/auth/devstorage.read_write"

// serviceAccount is the part of a service-account JSON key the driver
// uses.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
}

// knownTypes are credential types Google issues that are not service
// account keys; naming them helps a user who pasted the wrong file.
var knownTypes = map[string]bool{
	"authorized_user":                  true,
	"external_account":                 true,
	"external_account_authorized_user": true,
	"impersonated_service_account":     true,
	"gdch_service_account":             true,
}

// ValidateServiceAccountJSON returns what is wrong with s as a
// service-account JSON key, or nil when it is usable: it must parse as a
// JSON object whose type is "service_account", with a client_email, a
// project_id and a private_key holding a PEM-encoded RSA private key. The
// messages are whole sentences that never quote the key or any other
// value from s (beyond a recognized credential type), so they are safe to
// return to the user and to log.
func ValidateServiceAccountJSON(s string) []string {
	_, problems := parseServiceAccount(s)
	return problems
}

// parseServiceAccount parses and checks s; see ValidateServiceAccountJSON.
func parseServiceAccount(s string) (serviceAccount, []string) {
	var sa serviceAccount
	if strings.TrimSpace(s) == "" {
		return sa, []string{"The service account JSON key is empty."}
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&sa); err != nil {
		return sa, []string{describeJSONError(err)}
	}
	if dec.More() {
		return sa, []string{"The service account JSON key has data after its closing brace."}
	}
	var problems []string
	switch {
	case sa.Type == "":
		problems = append(problems, `The key has no "type"; a service account key has "type": "service_account".`)
	case sa.Type == "service_account":
	case knownTypes[sa.Type]:
		problems = append(problems, fmt.Sprintf(`The key's "type" is %q; a service account key (type "service_account") is required.`, sa.Type))
	default:
		problems = append(problems, `The key's "type" is not "service_account".`)
	}
	switch {
	case strings.TrimSpace(sa.ClientEmail) == "":
		problems = append(problems, `The key has no "client_email".`)
	case !strings.Contains(sa.ClientEmail, "@"):
		problems = append(problems, `The key's "client_email" is not an email address.`)
	}
	if strings.TrimSpace(sa.ProjectID) == "" {
		problems = append(problems, `The key has no "project_id".`)
	}
	if strings.TrimSpace(sa.PrivateKey) == "" {
		problems = append(problems, `The key has no "private_key".`)
	} else if err := checkPrivateKey(sa.PrivateKey); err != nil {
		problems = append(problems, err.Error())
	}
	return sa, problems
}

// describeJSONError says where and how the JSON is malformed without
// quoting any of it.
func describeJSONError(err error) string {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("The service account key is not valid JSON (syntax error at byte %d).", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("The service account key's %q must be a %s.", typ.Field, typ.Type.Kind())
	case errors.As(err, &typ):
		return "The service account key must be a JSON object."
	}
	return "The service account key is not valid JSON (it ends too early)."
}

// checkPrivateKey reports whether pemKey holds one PEM block with an RSA
// private key in PKCS #8 (what Google issues) or PKCS #1 form. Its errors
// never include the key.
func checkPrivateKey(pemKey string) error {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return errors.New(`The key's "private_key" is not PEM-encoded.`)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return errors.New(`The key's "private_key" is not an RSA key.`)
		}
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New(`The key's "private_key" is not a readable RSA private key.`)
}

// credentials returns credentials that exchange a JWT signed with the key
// for access tokens (OAuth 2.0 two-legged flow) at tokenURL (GoogleTokenURL
// when empty), over client, with the caller's context.
func (sa serviceAccount) credentials(client *http.Client, tokenURL string) (*auth.Credentials, error) {
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
