package gcsblob

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"cloud.google.com/go/auth"

	"github.com/bucketlink/bucketlink/shared/blob/gcsblob/gcskey"
)

// impersonationLifetime is the lifetime asked for an impersonated token. A
// Bucket lives for one verification, so the token is asked for once per
// Bucket (never cached across configs: a grant the customer revokes stops
// working at the next verification).
const impersonationLifetime = "3600s"

// maxIAMBody bounds what is read of an IAM Credentials answer (a token, a
// signature, or an error document of a few hundred bytes).
const maxIAMBody = 64 << 10

// ValidateServiceAccountEmail checks the e-mail of a service account to
// impersonate; see gcskey.ValidateServiceAccountEmail.
func ValidateServiceAccountEmail(email string) error {
	return gcskey.ValidateServiceAccountEmail(email)
}

// ImpersonationError is a failed call of the IAM Credentials API made to
// act as the customer's service account (generateAccessToken for storage
// requests, signBlob for a presigned URL). It never holds a token.
type ImpersonationError struct {
	// ServiceAccount is the customer's service account.
	ServiceAccount string
	// Method is "generateAccessToken" or "signBlob".
	Method string
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	// Reason is Google's status of the error answer, e.g. PERMISSION_DENIED.
	Reason string
	// Unavailable is set when the failure is not the customer's doing:
	// bucketlink's own credentials were refused or could not be had (the
	// STS exchange, the metadata server), or IAM Credentials could not be
	// reached, throttled or failed. Retrying later may succeed.
	Unavailable bool
	Err         error
}

func (e *ImpersonationError) Error() string {
	what := "not allowed to impersonate"
	if e.Unavailable {
		what = "impersonation unavailable"
	}
	s := "gcsblob: " + e.Method + " for " + e.ServiceAccount + ": " + what
	if e.Status != 0 {
		s += fmt.Sprintf(" (%d %s)", e.Status, e.Reason)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ImpersonationError) Unwrap() error { return e.Err }

// ImpersonationDenied reports that Google refused to let bucketlink's
// principal act as the service account: the customer has not granted it
// MissingRole on the account, or the account does not exist or is
// disabled. The check layer puts this on the service-account field. False
// means impersonation was unavailable.
func (e *ImpersonationError) ImpersonationDenied() bool { return !e.Unavailable }

// MissingRole names the role the customer must grant bucketlink's
// principal on the service account.
func (e *ImpersonationError) MissingRole() string { return TokenCreatorRole }

// googleAPIError is Google's JSON error document
// (https://cloud.google.com/apis/design/errors#http_mapping).
type googleAPIError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// impersonator acts as one service account through the IAM Credentials
// API, authenticated as bucketlink's Identity.
type impersonator struct {
	id     *Identity
	target string
	scopes []string
}

// Token implements auth.TokenProvider with generateAccessToken.
func (im *impersonator) Token(ctx context.Context) (*auth.Token, error) {
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireTime  string `json:"expireTime"`
	}
	in := map[string]any{"scope": im.scopes, "lifetime": impersonationLifetime}
	if err := im.call(ctx, "generateAccessToken", in, &out); err != nil {
		return nil, err
	}
	exp, err := time.Parse(time.RFC3339, out.ExpireTime)
	if err != nil || out.AccessToken == "" {
		return nil, im.fail("generateAccessToken", http.StatusOK, "", true, errors.New("the answer holds no token or expiry"))
	}
	return &auth.Token{Value: out.AccessToken, Type: "Bearer", Expiry: exp}, nil
}

// signBlob signs payload as the service account (RSA SHA-256), for V4
// signed URLs.
func (im *impersonator) signBlob(ctx context.Context, payload []byte) ([]byte, error) {
	var out struct {
		SignedBlob string `json:"signedBlob"`
	}
	in := map[string]any{"payload": base64.StdEncoding.EncodeToString(payload)}
	if err := im.call(ctx, "signBlob", in, &out); err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(out.SignedBlob)
	if err != nil || len(sig) == 0 {
		return nil, im.fail("signBlob", http.StatusOK, "", true, errors.New("the answer holds no signature"))
	}
	return sig, nil
}

// call posts in to method of the target service account with the
// identity's token, and decodes a 2xx answer into out.
func (im *impersonator) call(ctx context.Context, method string, in, out any) error {
	src, err := im.id.creds.Token(ctx)
	if err != nil {
		return im.fail(method, 0, "", true, fmt.Errorf("bucketlink's own Google credentials: %w", err))
	}
	body, err := json.Marshal(in)
	if err != nil {
		return im.fail(method, 0, "", true, err)
	}
	u := im.id.iamURL + "/v1/projects/-/serviceAccounts/" + url.PathEscape(im.target) + ":" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return im.fail(method, 0, "", true, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+src.Value)
	resp, err := im.id.hc.Do(req)
	if err != nil {
		return im.fail(method, 0, "", true, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIAMBody+1))
	if err == nil && len(data) > maxIAMBody {
		err = &tooLargeError{limit: maxIAMBody, isError: resp.StatusCode >= 300}
	}
	if err != nil {
		return im.fail(method, resp.StatusCode, "", true, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var ge googleAPIError
		_ = json.Unmarshal(data, &ge) // a non-JSON answer leaves it empty
		return im.fail(method, resp.StatusCode, ge.Error.Status, !deniedStatus(resp.StatusCode), errors.New(ge.Error.Message))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return im.fail(method, resp.StatusCode, "", true, fmt.Errorf("answer not JSON: %v", err))
	}
	return nil
}

// deniedStatus reports the answers that are the customer's doing: 403
// (the role is missing, or the account does not exist: Google answers a
// caller without a project-wide role the same for both), 404 (no such
// account) and 400 (an account Google does not accept, e.g. a disabled
// one). 401 means bucketlink's own token was refused; 429 and 5xx are
// Google's trouble.
func deniedStatus(status int) bool {
	return status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusBadRequest
}

func (im *impersonator) fail(method string, status int, reason string, unavailable bool, err error) *ImpersonationError {
	return &ImpersonationError{ServiceAccount: im.target, Method: method, Status: status, Reason: reason, Unavailable: unavailable, Err: err}
}
