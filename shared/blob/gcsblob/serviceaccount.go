package gcsblob

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
)

// GoogleTokenURL is the OAuth token endpoint every token comes from
// outside tests, whatever the key's token_uri says: a user-supplied key
// must not make the service post to a URL of the user's choosing.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// tokenScope is the OAuth scope requested: objects and bucket metadata,
// without IAM policies.
const tokenScope = "https://www.googleapis.com/auth/devstorage.read_write"

// Token lifetimes: the assertion asks for the longest Google grants, and a
// cached token is replaced this long before it expires.
const (
	assertionLifetime = time.Hour
	tokenEarlyExpiry  = 225 * time.Second
)

// jwtBearerGrant is the grant type of the two-legged flow (RFC 7523).
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// tokenSource exchanges a JWT assertion signed with the service account's
// key for access tokens (OAuth 2.0 two-legged flow) and caches the token.
// Each exchange runs under the context of the request that needs it, so
// that the caller's deadline bounds it too.
type tokenSource struct {
	client *http.Client
	url    string
	email  string
	keyID  string
	key    *rsa.PrivateKey

	// sem is a lock that a waiter can give up on when its context ends;
	// it guards tok and expiry.
	sem    chan struct{}
	tok    string
	expiry time.Time // zero: do not reuse tok
}

// newTokenSource returns a tokenSource for sa at tokenURL (GoogleTokenURL
// when empty), over client.
func newTokenSource(sa gcskey.ServiceAccount, key *rsa.PrivateKey, client *http.Client, tokenURL string) *tokenSource {
	if tokenURL == "" {
		tokenURL = GoogleTokenURL
	}
	return &tokenSource{
		client: client,
		url:    tokenURL,
		email:  sa.ClientEmail,
		keyID:  sa.PrivateKeyID,
		key:    key,
		sem:    make(chan struct{}, 1),
	}
}

// token returns a valid access token, from the cache or a new exchange.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.sem }()
	if s.tok != "" && time.Now().Before(s.expiry) {
		return s.tok, nil
	}
	tok, expiry, err := s.exchange(ctx)
	if err != nil {
		return "", err
	}
	s.tok, s.expiry = tok, expiry
	return tok, nil
}

// tokenError is the body of an OAuth 2.0 error answer (RFC 6749 5.2).
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// exchange makes one token request. A refused exchange is an
// *oauth2.RetrieveError; a failure to reach the endpoint is the client's
// *url.Error.
func (s *tokenSource) exchange(ctx context.Context) (tok string, expiry time.Time, err error) {
	now := time.Now()
	assertion, err := s.assertion(now)
	if err != nil {
		return "", time.Time{}, err
	}
	form := url.Values{"grant_type": {jwtBearerGrant}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return "", time.Time{}, withCtx(ctx, fmt.Errorf("read token answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		var te tokenError
		if json.Unmarshal(body, &te) == nil {
			re.ErrorCode, re.ErrorDescription = te.Error, te.Description
		}
		return "", time.Time{}, re
	}
	var ok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.AccessToken == "" {
		return "", time.Time{}, errors.New("gcsblob: the token endpoint's answer has no access token")
	}
	if ok.ExpiresIn > 0 {
		expiry = now.Add(time.Duration(ok.ExpiresIn)*time.Second - tokenEarlyExpiry)
	}
	return ok.AccessToken, expiry, nil
}

// assertion returns the JWT (RS256) that asks for a token for the service
// account, issued at now.
func (s *tokenSource) assertion(now time.Time) (string, error) {
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if s.keyID != "" {
		header["kid"] = s.keyID
	}
	claims := map[string]any{
		"iss":   s.email,
		"scope": tokenScope,
		"aud":   s.url,
		"iat":   now.Unix(),
		"exp":   now.Add(assertionLifetime).Unix(),
	}
	var parts [2]string
	for i, v := range []any{header, claims} {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("gcsblob: encode assertion: %w", err)
		}
		parts[i] = base64.RawURLEncoding.EncodeToString(b)
	}
	signed := parts[0] + "." + parts[1]
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("gcsblob: sign assertion: %w", err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// parseRSAKey reads the PEM-encoded RSA private key of a service account
// (PKCS #8 as Google issues it, or PKCS #1). Its errors never include the
// key.
func parseRSAKey(pemKey string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return nil, errors.New("private key is not PEM-encoded")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("private key is not an RSA key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("private key is not a readable RSA private key")
}

// ValidateServiceAccountJSON lists what is wrong with a service-account
// JSON key; see gcskey.Validate.
func ValidateServiceAccountJSON(s string) []string { return gcskey.Validate(s) }
