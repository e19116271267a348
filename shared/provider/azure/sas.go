package azure

import (
	"errors"
	"strconv"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/provider/contract"
)

// accessOf is the SAS access each check needs.
var accessOf = map[string]azrules.Access{
	contract.CheckList:   azrules.AccessList,
	contract.CheckRead:   azrules.AccessRead,
	contract.CheckWrite:  azrules.AccessWrite,
	contract.CheckDelete: azrules.AccessDelete,
}

// notRunSAS is the message of a check that was not run because the SAS
// token cannot serve another.
const notRunSAS = "Not run: the SAS token cannot serve every check, so bucketlink did not connect."

// Precheck implements contract.Prechecker: it reads a SAS token without
// connecting. An unreadable, expired or not yet valid token, or one scoped
// to something else than the container's blobs, fails every check; a
// token lacking a permission fails the checks that need it.
func (s *Settings) Precheck(creds contract.Credentials, now time.Time) (all error, each map[string]error, notRun string, ok bool) {
	if !SASOnly(creds) {
		return nil, nil, "", true
	}
	info, err := azrules.ParseSAS(creds[CredSASToken])
	if err != nil {
		return wrapSAS(err), nil, "", false
	}
	probs := info.Problems(now, azrules.AccessList, azrules.AccessRead, azrules.AccessWrite, azrules.AccessDelete)
	if len(probs) == 0 {
		return nil, nil, "", true
	}
	missing := map[azrules.Access]error{}
	for _, p := range probs {
		var sp *azrules.SASProblem
		if !errors.As(p, &sp) || sp.Kind != azrules.ProblemMissingPermission {
			return wrapSAS(p), nil, "", false
		}
		if len(sp.Permission) == 1 {
			missing[azrules.Access(sp.Permission[0])] = wrapSAS(p)
		}
	}
	each = map[string]error{}
	for name, a := range accessOf {
		if err := missing[a]; err != nil {
			each[name] = err
		}
	}
	return nil, each, notRunSAS, false
}

// SASError is a SAS token that cannot serve, found without connecting (or
// by the driver before its first request). It implements
// contract.LocalError.
type SASError struct{ Problem error }

// wrapSAS wraps err, when it is an *azrules.SASProblem, as a SASError.
func wrapSAS(err error) error {
	var sp *azrules.SASProblem
	if errors.As(err, &sp) {
		return &SASError{Problem: err}
	}
	return err
}

// WrapSAS returns err as a SASError when it is a SAS problem, else err.
func WrapSAS(err error) error { return wrapSAS(err) }

func (e *SASError) Error() string { return e.Problem.Error() }
func (e *SASError) Unwrap() error { return e.Problem }

// Failure implements contract.LocalError: what is wrong with the token,
// for check name.
func (e *SASError) Failure(name string) contract.Failure {
	var p *azrules.SASProblem
	errors.As(e.Problem, &p)
	f := contract.Failure{Code: contract.CodeInvalidAccessKey, Field: FieldSASToken}
	switch p.Kind {
	case azrules.ProblemExpired:
		f.Msg = "The SAS token has expired (" + p.Detail + "); create a new one."
	case azrules.ProblemNotYetValid:
		f.Msg = "The SAS token is not valid yet (" + p.Detail + "); use it from then, or create one that starts now."
	case azrules.ProblemWrongScope:
		f.Code = contract.CodeAccessDenied
		f.Msg = "The SAS token does not grant access to the container's blobs: " + p.Detail +
			". Create a service SAS for the container (sr=c), or an account SAS for blob containers and objects (ss=b, srt=co)."
	case azrules.ProblemMissingPermission:
		f.Code = contract.CodeAccessDenied
		f.Msg = "The SAS token lacks the " + permissionName(p.Permission) + ", which the " + name +
			" check needs. Create a SAS token for the container with the permissions r, w (or c), d and l."
	default:
		f.Msg = "The SAS token is malformed"
		if p.Detail != "" {
			f.Msg += ": " + p.Detail
		}
		f.Msg += "."
	}
	return f
}

// permissionName names a SAS permission: "write permission (w or c)".
func permissionName(letter string) string {
	if len(letter) != 1 {
		return "permission " + strconv.Quote(letter)
	}
	a := azrules.Access(letter[0])
	letters := letter
	if a == azrules.AccessWrite {
		letters = "w or c"
	}
	return a.String() + " permission (" + letters + ")"
}
