package verify

import (
	"errors"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob/azureblob/azrules"
	"github.com/bucketlink/bucketlink/shared/storageconfig"
)

// accessOf is the SAS access each check needs.
var accessOf = map[string]azrules.Access{
	CheckList:   azrules.AccessList,
	CheckRead:   azrules.AccessRead,
	CheckWrite:  azrules.AccessWrite,
	CheckDelete: azrules.AccessDelete,
}

// notRunSAS is the message of a check that was not run because the SAS
// token cannot serve another.
const notRunSAS = "Not run: the SAS token cannot serve every check, so bucketlink did not connect."

// checkSAS reads the SAS token of an azure_blob config without connecting
// and reports, as the outcome of each check, why it cannot serve: an
// unreadable, expired or not yet valid token, or one scoped to something
// else than the container's blobs, fails every check; a token lacking a
// permission fails the checks that need it. It returns false when the token
// can serve, as far as the token itself says.
func (r *run) checkSAS(now time.Time) bool {
	token := r.creds.AzureSASToken
	if r.cfg.Provider != storageconfig.ProviderAzureBlob || token == "" || r.creds.AzureAccountKey != "" {
		return false
	}
	info, err := azrules.ParseSAS(token)
	if err != nil {
		r.failAll(err)
		return true
	}
	probs := info.Problems(now, azrules.AccessList, azrules.AccessRead, azrules.AccessWrite, azrules.AccessDelete)
	if len(probs) == 0 {
		return false
	}
	missing := map[azrules.Access]error{}
	for _, p := range probs {
		var sp *azrules.SASProblem
		if !errors.As(p, &sp) || sp.Kind != azrules.ProblemMissingPermission {
			r.failAll(p)
			return true
		}
		if len(sp.Permission) == 1 {
			missing[azrules.Access(sp.Permission[0])] = p
		}
	}
	for name, o := range map[string]*outcome{CheckList: &r.list, CheckRead: &r.read, CheckWrite: &r.write, CheckDelete: &r.del} {
		if err := missing[accessOf[name]]; err != nil {
			*o = outcome{err: err}
		} else {
			*o = outcome{notRun: notRunSAS}
		}
	}
	// A presigned PUT needs the write permission, which the write check
	// already reports on.
	r.presign = outcome{notRun: notRunSAS}
	return true
}

// isLocal reports an error found without connecting to the provider.
func isLocal(err error) bool {
	var sp *azrules.SASProblem
	return errors.As(err, &sp)
}

// sasFailure describes a SAS token that cannot serve check name.
func sasFailure(name string, p *azrules.SASProblem) failure {
	f := failure{code: CodeInvalidAccessKey, field: FieldAzureSASToken}
	switch p.Kind {
	case azrules.ProblemExpired:
		f.msg = "The SAS token has expired (" + p.Detail + "); create a new one."
	case azrules.ProblemNotYetValid:
		f.msg = "The SAS token is not valid yet (" + p.Detail + "); use it from then, or create one that starts now."
	case azrules.ProblemWrongScope:
		f.code = CodeAccessDenied
		f.msg = "The SAS token does not grant access to the container's blobs: " + p.Detail +
			". Create a service SAS for the container (sr=c), or an account SAS for blob containers and objects (ss=b, srt=co)."
	case azrules.ProblemMissingPermission:
		f.code = CodeAccessDenied
		f.msg = "The SAS token lacks the " + permissionName(p.Permission) + ", which the " + name +
			" check needs. Create a SAS token for the container with the permissions r, w (or c), d and l."
	default:
		f.msg = "The SAS token is malformed"
		if p.Detail != "" {
			f.msg += ": " + p.Detail
		}
		f.msg += "."
	}
	return f
}

// permissionName names a SAS permission: "write permission (w or c)".
func permissionName(letter string) string {
	if len(letter) != 1 {
		return "permission " + quote(letter)
	}
	a := azrules.Access(letter[0])
	letters := letter
	if a == azrules.AccessWrite {
		letters = "w or c"
	}
	return a.String() + " permission (" + letters + ")"
}
