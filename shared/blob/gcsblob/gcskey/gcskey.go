// Package gcskey reads and checks a Google service-account JSON key
// without the Google SDK, so that request validation can use it without
// linking the SDK. Package gcsblob builds credentials from a parsed key.
package gcskey

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ServiceAccount is the part of a service-account JSON key the driver
// uses.
type ServiceAccount struct {
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

// Validate returns what is wrong with s as a
// service-account JSON key, or nil when it is usable: it must parse as a
// JSON object whose type is "service_account", with a client_email, a
// project_id and a private_key holding a PEM-encoded RSA private key. The
// messages are whole sentences that never quote the key or any other
// value from s (beyond a recognized credential type), so they are safe to
// return to the user and to log.
func Validate(s string) []string {
	_, problems := Parse(s)
	return problems
}

// Parse parses and checks s; see ValidateServiceAccountJSON.
func Parse(s string) (ServiceAccount, []string) {
	var sa ServiceAccount
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
