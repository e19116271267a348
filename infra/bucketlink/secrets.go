package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// secrets are the credential fields of a create request (field name →
// value), read from the environment, standard input or a file.
type secrets map[string]string

// The environment variables verify reads secrets from. The AWS and Azure
// ones are those the providers' own tools read.
const (
	envAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envAWSSessionToken    = "AWS_SESSION_TOKEN"
	envGoogleCredentials  = "GOOGLE_APPLICATION_CREDENTIALS"
	envGCSHMACAccessID    = "BUCKETLINK_GCS_HMAC_ACCESS_ID"
	envGCSHMACSecret      = "BUCKETLINK_GCS_HMAC_SECRET"
	envAzureKey           = "AZURE_STORAGE_KEY"
	envAzureSAS           = "AZURE_STORAGE_SAS_TOKEN"
)

// maxSecretBytes bounds a secret read from a file or standard input: the
// API's request body limit.
const maxSecretBytes = 64 << 10

// secretFlags are flags an operator might reach for that would put a
// secret on the command line, with where the secret goes instead.
var secretFlags = map[string]string{
	"secret-access-key":       envAWSSecretAccessKey + ", or --secret-file FILE (- for standard input)",
	"aws-secret-access-key":   envAWSSecretAccessKey + ", or --secret-file FILE (- for standard input)",
	"secret-key":              envAWSSecretAccessKey + ", or --secret-file FILE (- for standard input)",
	"secret":                  "the environment, or --secret-file FILE (- for standard input)",
	"access-key-id":           envAWSAccessKeyID + " (" + envGCSHMACAccessID + " for gc_storage HMAC)",
	"aws-access-key-id":       envAWSAccessKeyID,
	"session-token":           envAWSSessionToken + " (the API takes long-term keys only)",
	"aws-session-token":       envAWSSessionToken + " (the API takes long-term keys only)",
	"hmac-secret":             envGCSHMACSecret + ", or --secret-file FILE (- for standard input)",
	"hmac-access-id":          envGCSHMACAccessID,
	"credentials-json":        "a file: --credentials-file FILE (- for standard input), or " + envGoogleCredentials,
	"service-account-json":    "a file: --credentials-file FILE (- for standard input), or " + envGoogleCredentials,
	"account-key":             envAzureKey + ", or --secret-file FILE (- for standard input)",
	"azure-account-key":       envAzureKey + ", or --secret-file FILE (- for standard input)",
	"sas-token":               envAzureSAS + ", or --secret-file FILE --auth-method sas",
	"azure-sas-token":         envAzureSAS + ", or --secret-file FILE --auth-method sas",
	"sas":                     envAzureSAS + ", or --secret-file FILE --auth-method sas",
	"password":                "the environment, or --secret-file FILE (- for standard input)",
	"key":                     "the environment, or --secret-file FILE (- for standard input)",
	"connection-string":       "the environment: " + envAzureKey + " or " + envAzureSAS,
	"azure-connection-string": "the environment: " + envAzureKey + " or " + envAzureSAS,
}

// refuseSecretFlags refuses any flag of secretFlags, before parsing, so
// that the message says where the secret belongs (and never repeats it).
func refuseSecretFlags(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		name, ok := strings.CutPrefix(a, "-")
		if !ok {
			continue
		}
		name = strings.TrimPrefix(name, "-")
		name, _, _ = strings.Cut(name, "=")
		if where, bad := secretFlags[name]; bad {
			return fmt.Errorf("--%s would put a secret on the command line, where ps and the shell history show it; give it in %s", name, where)
		}
	}
	return nil
}

// secrets reads the credentials of f's provider and auth method: the
// environment, then --secret-file or --credentials-file (which win).
func (f *verifyFlags) secrets(stdin io.Reader) (secrets, error) {
	s := secrets{}
	file := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		return readSecret(path, stdin)
	}
	fromFile, err := file(f.secretFile)
	if err != nil {
		return nil, err
	}
	switch f.provider {
	case "aws_s3", "s3_compatible":
		if f.authMethod == "iam_role" {
			if fromFile != "" {
				return nil, errors.New("--auth-method iam_role takes no secret: the role is assumed with this machine's AWS configuration; remove --secret-file")
			}
			return s, nil
		}
		if os.Getenv(envAWSSessionToken) != "" {
			return nil, errors.New(envAWSSessionToken + " is set, but the API's access_key configs take long-term keys only (s3_access_key_id and " +
				"s3_secret_access_key), so temporary credentials cannot be checked; unset it and give a long-term key, or use --auth-method iam_role")
		}
		s["s3_access_key_id"] = os.Getenv(envAWSAccessKeyID)
		s["s3_secret_access_key"] = firstOf(fromFile, os.Getenv(envAWSSecretAccessKey))
	case "gc_storage":
		if f.authMethod == "hmac" {
			s["gc_storage_hmac_access_id"] = os.Getenv(envGCSHMACAccessID)
			s["gc_storage_hmac_secret"] = firstOf(fromFile, os.Getenv(envGCSHMACSecret))
			break
		}
		key := fromFile
		if key == "" {
			path := firstOf(f.credentialsFile, os.Getenv(envGoogleCredentials))
			if key, err = file(path); err != nil {
				return nil, err
			}
		}
		s["gc_storage_auth_json_content"] = key
	case "azure_blob":
		s["azure_account_key"] = os.Getenv(envAzureKey)
		s["azure_sas_token"] = os.Getenv(envAzureSAS)
		switch f.authMethod {
		case "", "key":
			if fromFile != "" {
				s["azure_account_key"], s["azure_sas_token"] = fromFile, ""
			}
			if f.authMethod == "key" {
				s["azure_sas_token"] = ""
			}
		case "sas":
			s["azure_account_key"], s["azure_sas_token"] = "", firstOf(fromFile, s["azure_sas_token"])
		default:
			return nil, fmt.Errorf("--auth-method of azure_blob is key or sas, not %q", f.authMethod)
		}
	}
	if f.credentialsFile != "" && f.provider != "gc_storage" {
		return nil, errors.New("--credentials-file is a gc_storage service-account key; for " + f.provider + " use --secret-file")
	}
	if !s.any() {
		return nil, fmt.Errorf("no credentials for %s: %s", f.provider, credentialsHint(f.provider, f.authMethod))
	}
	return s, nil
}

// any reports whether s holds any credential.
func (s secrets) any() bool {
	for _, v := range s {
		if v != "" {
			return true
		}
	}
	return false
}

// credentialsHint says where the credentials of provider come from.
func credentialsHint(provider, auth string) string {
	switch {
	case provider == "gc_storage" && auth == "hmac":
		return "set " + envGCSHMACAccessID + ", and " + envGCSHMACSecret + " or --secret-file"
	case provider == "gc_storage":
		return "give --credentials-file FILE (- for standard input) or set " + envGoogleCredentials
	case provider == "azure_blob":
		return "set " + envAzureKey + " or " + envAzureSAS + ", or give --secret-file FILE (- for standard input)"
	}
	return "set " + envAWSAccessKeyID + ", and " + envAWSSecretAccessKey + " or --secret-file FILE (- for standard input)"
}

// readSecret reads a secret from path ("-": stdin), at most
// maxSecretBytes, without the line end an editor or echo leaves.
func readSecret(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("secret file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretBytes+1))
	defer clear(b)
	switch {
	case err != nil:
		return "", fmt.Errorf("read secret %s: %w", path, err)
	case len(b) > maxSecretBytes:
		return "", fmt.Errorf("secret %s is larger than %d bytes", path, maxSecretBytes)
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
