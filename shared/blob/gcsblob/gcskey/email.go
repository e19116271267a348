package gcskey

import (
	"errors"
	"strings"
)

// ErrBadServiceAccountEmail is the error of ValidateServiceAccountEmail.
var ErrBadServiceAccountEmail = errors.New("this is not a Google service account e-mail: " +
	"expected NAME@PROJECT_ID.iam.gserviceaccount.com (or PROJECT_ID@appspot.gserviceaccount.com, " +
	"PROJECT_NUMBER-compute@developer.gserviceaccount.com)")

// ValidateServiceAccountEmail checks the e-mail of a service account to
// impersonate: a local part of lower-case letters, digits and hyphens, at
// PROJECT_ID.iam.gserviceaccount.com, appspot.gserviceaccount.com or
// developer.gserviceaccount.com. The address goes into the path of IAM
// Credentials requests, so nothing else is let through. The error never
// quotes the value.
func ValidateServiceAccountEmail(email string) error {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || len(email) > 254 || !label(local) {
		return ErrBadServiceAccountEmail
	}
	switch domain {
	case "appspot.gserviceaccount.com", "developer.gserviceaccount.com":
		return nil
	}
	project, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com")
	if !ok || project == "" {
		return ErrBadServiceAccountEmail
	}
	// A domain-scoped project (example.com:proj) shows as proj.example.com.
	for _, part := range strings.Split(project, ".") {
		if !label(part) {
			return ErrBadServiceAccountEmail
		}
	}
	return nil
}

// label reports a non-empty run of at most 63 lower-case letters, digits
// and inner hyphens.
func label(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
