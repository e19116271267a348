// Package azrules holds the Azure Blob rules that need no SDK: account,
// container and endpoint validation, and reading a SAS token (se=, sp=...)
// before connecting. storageconfig and verify use it so that importing
// them does not link the Azure SDK; package azureblob re-exports it.
//
// ParseSAS does not call azblob/sas: that package imports azcore and its
// HTTP pipeline (84 packages more for storageconfig, which every function
// links), and it validates nothing (an unreadable expiry becomes a zero
// time). The SDK's reading is the contract instead: sas_sdk_test.go checks,
// on tokens the SDK signs and under a fuzzer, that every field ParseSAS
// reads is the one sas.QueryParameters reads.
package azrules

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SASInfo is what a SAS token says about itself, read without connecting.
// It holds no signature.
type SASInfo struct {
	Version       string    // sv, the signed service version
	Start         time.Time // st; zero when the token has none
	Expiry        time.Time // se; zero when a stored access policy holds it
	Permissions   string    // sp, as given (e.g. "racwdl")
	Resource      string    // sr of a service SAS: "c" container, "b" blob, ...
	Services      string    // ss of an account SAS, e.g. "b" or "bfqt"
	ResourceTypes string    // srt of an account SAS: "s" service, "c" container, "o" object
	Protocol      string    // spr: "https" or "https,http"
	Identifier    string    // si, a stored access policy on the container

	signature string
}

// Account reports whether the token is an account SAS (it has ss).
func (i SASInfo) Account() bool { return i.Services != "" }

// policyHeld reports whether a stored access policy holds the permissions
// (a token with si and no sp): only the server knows them.
func (i SASInfo) policyHeld() bool { return i.Identifier != "" && i.Permissions == "" }

// Access is a kind of access a check needs; its value is the SAS
// permission letter that grants it.
type Access byte

// The accesses the checks need. AccessWrite is granted by write (w) or by
// create (c): either lets Put Blob write a new blob.
const (
	AccessList   Access = 'l'
	AccessRead   Access = 'r'
	AccessWrite  Access = 'w'
	AccessDelete Access = 'd'
)

// String names the access: "list", "read", "write" or "delete".
func (a Access) String() string {
	switch a {
	case AccessList:
		return "list"
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessDelete:
		return "delete"
	}
	return fmt.Sprintf("%q", string(a))
}

// letters are the permission letters that grant a.
func (a Access) letters() string {
	if a == AccessWrite {
		return "wc"
	}
	return string(a)
}

// Allows reports whether the token's permissions grant a. A token whose
// permissions live in a stored access policy is assumed to: only the
// server can tell.
func (i SASInfo) Allows(a Access) bool {
	return i.policyHeld() || strings.ContainsAny(i.Permissions, a.letters())
}

// ProblemKind is why a SAS token cannot serve a check.
type ProblemKind string

// The problems ParseSAS and SASInfo.Problems report.
const (
	ProblemMalformed         ProblemKind = "malformed"          // not a SAS token
	ProblemExpired           ProblemKind = "expired"            // se is past
	ProblemNotYetValid       ProblemKind = "not_yet_valid"      // st is ahead
	ProblemMissingPermission ProblemKind = "missing_permission" // sp lacks what a check needs
	ProblemWrongScope        ProblemKind = "wrong_scope"        // not a token for a whole container's blobs
)

// SASProblem is one reason a SAS token cannot serve. Its message never
// contains the token or its signature. Match a kind with errors.Is and
// the sentinels below, or read Kind through errors.As.
type SASProblem struct {
	Kind ProblemKind
	// Permission is the missing access's letter for
	// ProblemMissingPermission: "l", "r", "w" (w or c) or "d".
	Permission string
	// Detail says more, e.g. which parameter is malformed or the expiry.
	Detail string
}

// Sentinels for errors.Is: a *SASProblem matches the one of its kind.
var (
	ErrSASMalformed         = &SASProblem{Kind: ProblemMalformed}
	ErrSASExpired           = &SASProblem{Kind: ProblemExpired}
	ErrSASNotYetValid       = &SASProblem{Kind: ProblemNotYetValid}
	ErrSASMissingPermission = &SASProblem{Kind: ProblemMissingPermission}
	ErrSASWrongScope        = &SASProblem{Kind: ProblemWrongScope}
)

func (p *SASProblem) Error() string {
	var s string
	switch p.Kind {
	case ProblemMalformed:
		s = "the SAS token is malformed"
	case ProblemExpired:
		s = "the SAS token has expired"
	case ProblemNotYetValid:
		s = "the SAS token is not valid yet"
	case ProblemMissingPermission:
		a := Access(0)
		if len(p.Permission) == 1 {
			a = Access(p.Permission[0])
		}
		s = fmt.Sprintf("the SAS token lacks the %s permission (%s)", a, strings.Join(strings.Split(a.letters(), ""), " or "))
	case ProblemWrongScope:
		s = "the SAS token does not grant access to the container's blobs"
	default:
		s = "the SAS token cannot be used"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return "azureblob: " + s
}

// Is matches a sentinel *SASProblem of the same kind (and permission, when
// the target names one).
func (p *SASProblem) Is(target error) bool {
	t, ok := target.(*SASProblem)
	return ok && t.Kind == p.Kind && t.Detail == "" && (t.Permission == "" || t.Permission == p.Permission)
}

// sasTimeLayouts are the ISO 8601 forms Azure accepts for st and se.
var sasTimeLayouts = []string{
	"2006-01-02T15:04:05Z",
	"2006-01-02T15:04:05.0000000Z",
	"2006-01-02T15:04Z",
	"2006-01-02",
	time.RFC3339Nano,
}

// validPermissions are every SAS permission letter of service and account
// SAS tokens (u and p serve queues and tables in an account SAS).
const validPermissions = "racwdxyltfmeopiu"

// ParseSAS reads a SAS token (with or without the leading '?') without
// connecting. A token that is not a SAS (no signature, no version, no
// expiry or permissions and no stored policy, an unreadable time or an
// unknown permission letter) is a *SASProblem of kind ProblemMalformed.
// Whether the token has expired or grants what a check needs is
// SASInfo.Problems' business.
func ParseSAS(token string) (SASInfo, error) {
	token = strings.TrimPrefix(strings.TrimSpace(token), "?")
	malformed := func(detail string) (SASInfo, error) {
		return SASInfo{}, &SASProblem{Kind: ProblemMalformed, Detail: detail}
	}
	switch {
	case token == "":
		return malformed("it is empty")
	case strings.Contains(token, "://"):
		return malformed("it is a URL; give only the part after '?'")
	}
	q, err := url.ParseQuery(token)
	if err != nil {
		// The parser's message may quote part of the token.
		return malformed("it is not a URL query string")
	}
	info := SASInfo{
		Version:       q.Get("sv"),
		Permissions:   q.Get("sp"),
		Resource:      q.Get("sr"),
		Services:      q.Get("ss"),
		ResourceTypes: q.Get("srt"),
		Protocol:      q.Get("spr"),
		Identifier:    q.Get("si"),
		signature:     q.Get("sig"),
	}
	switch {
	case info.signature == "":
		return malformed("it has no signature (sig)")
	case info.Version == "":
		return malformed("it has no signed version (sv)")
	case info.Identifier == "" && q.Get("se") == "":
		return malformed("it has no expiry (se)")
	case info.Identifier == "" && info.Permissions == "":
		return malformed("it has no permissions (sp)")
	}
	if strings.ContainsFunc(info.Permissions, func(r rune) bool { return !strings.ContainsRune(validPermissions, r) }) {
		return malformed("its permissions (sp) contain an unknown letter")
	}
	if info.Expiry, err = parseSASTime(q.Get("se")); err != nil {
		return malformed("its expiry (se) is not an ISO 8601 UTC time")
	}
	if info.Start, err = parseSASTime(q.Get("st")); err != nil {
		return malformed("its start (st) is not an ISO 8601 UTC time")
	}
	return info, nil
}

func parseSASTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range sasTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unrecognised time")
}

// Problems returns why the token cannot serve checks that need the given
// accesses at now: expired, not yet valid, not for a container's blobs,
// and each missing permission, in that order. None means it can, as far
// as the token itself says; the server still checks the signature.
func (i SASInfo) Problems(now time.Time, need ...Access) []error {
	var probs []error
	if !i.Expiry.IsZero() && !now.Before(i.Expiry) {
		probs = append(probs, &SASProblem{Kind: ProblemExpired, Detail: "it expired at " + i.Expiry.Format(time.RFC3339)})
	}
	if !i.Start.IsZero() && now.Before(i.Start) {
		probs = append(probs, &SASProblem{Kind: ProblemNotYetValid, Detail: "it starts at " + i.Start.Format(time.RFC3339)})
	}
	if d := i.scopeProblem(need); d != "" {
		probs = append(probs, &SASProblem{Kind: ProblemWrongScope, Detail: d})
	}
	for _, a := range need {
		if !i.Allows(a) {
			probs = append(probs, &SASProblem{Kind: ProblemMissingPermission, Permission: string(a)})
		}
	}
	return probs
}

// scopeProblem says why the token's scope does not cover the container's
// blobs, or "" when it does. Listing is a container operation; reading,
// writing and deleting are object operations.
func (i SASInfo) scopeProblem(need []Access) string {
	if i.Account() {
		if !strings.Contains(i.Services, "b") {
			return "its services (ss) do not include blob (b)"
		}
		for _, a := range need {
			if a == AccessList && !strings.Contains(i.ResourceTypes, "c") {
				return "its resource types (srt) do not include container (c), which listing needs"
			}
			if a != AccessList && !strings.Contains(i.ResourceTypes, "o") {
				return "its resource types (srt) do not include object (o)"
			}
		}
		return ""
	}
	switch i.Resource {
	case "c":
		return ""
	case "":
		return "it has no signed resource (sr)"
	}
	if len(i.Resource) <= 3 && strings.Trim(i.Resource, "abcdefghijklmnopqrstuvwxyz") == "" {
		return "it is for a single blob or directory (sr=" + i.Resource + "), not a container (sr=c)"
	}
	return "its signed resource (sr) is not a container (c)"
}

// Signature returns the token's signature (sig), decoded. It exists so
// that callers can redact it from error text; never log or show it.
func (i SASInfo) Signature() string { return i.signature }
