package identity

import "fmt"

// Role is what a member may do in an org.
type Role string

// The roles, weakest first.
const (
	RoleViewer Role = "viewer"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleViewer, RoleMember, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("role %q: use admin, member or viewer", s)
}

// Action is something a request does to an org's storage configs.
type Action string

// Actions of the storage-configs and bucket-verify APIs.
const (
	ActionList         Action = "list"
	ActionGet          Action = "get"
	ActionSetupInfo    Action = "setup-info"
	ActionTest         Action = "test"
	ActionVerifyBucket Action = "verify-bucket"
	ActionCreate       Action = "create"
	ActionDelete       Action = "delete"
)

// minRole is the role matrix: the weakest role allowed each action.
var minRole = map[Action]Role{
	ActionList:         RoleViewer,
	ActionGet:          RoleViewer,
	ActionSetupInfo:    RoleViewer,
	ActionTest:         RoleMember,
	ActionVerifyBucket: RoleMember,
	ActionCreate:       RoleAdmin,
	ActionDelete:       RoleAdmin,
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether r may perform a. Unknown roles and actions are denied.
func (r Role) Allows(a Action) bool {
	need, ok := minRole[a]
	return ok && r.rank() >= need.rank() && r.rank() > 0
}
