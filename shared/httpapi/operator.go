package httpapi

import (
	"context"
	"net/http"

	"github.com/bucketlink/bucketlink/shared/identity"
)

// OperatorKeyID is the key id of the operator's requests (AsOperator): no
// API key has it, since real ones start with "key_".
const OperatorKeyID = "operator"

// AsOperator returns a copy of r whose caller is the operator: an admin of
// each org in orgIDs, authenticated without an API key. It is for the
// operator command (`bucketlink configs`), which runs this package's
// handlers in its own process on the store it opened, so that its answers
// are the API's. The authority rides in a context value, which no request
// from the network can carry.
func AsOperator(r *http.Request, orgIDs ...int64) *http.Request {
	p := &identity.Principal{UserID: "operator", KeyID: OperatorKeyID}
	for _, id := range orgIDs {
		p.Memberships = append(p.Memberships, identity.Membership{OrgID: id, Role: identity.RoleAdmin})
	}
	return r.WithContext(context.WithValue(r.Context(), authKey{}, &authResult{p: p}))
}
