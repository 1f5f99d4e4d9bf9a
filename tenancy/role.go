package tenancy

// Role is an account's role in its workspace.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Action is something a role may be allowed to do in its workspace.
type Action string

// The actions of the permission matrix (design section 4).
const (
	// ActionRead: read configuration, call records and events.
	ActionRead Action = "read"
	// ActionOperate: join calls as operator (subject to the operator
	// config) and hang up calls.
	ActionOperate Action = "operate"
	// ActionOwnKeys: create and revoke one's own API keys.
	ActionOwnKeys Action = "own_keys"
	// ActionPostEvents: post domain events to the workspace's world model
	// (member or above, as for operating calls).
	ActionPostEvents Action = "post_events"
	// ActionConfigure: services, phone numbers, trunks, voice settings,
	// operator config, safety policies, data sources.
	ActionConfigure Action = "configure"
	// ActionManage: accounts and their roles, billing, workspace settings,
	// deleting the workspace, revoking others' keys.
	ActionManage Action = "manage"
)

// Actions lists every action of the matrix.
var Actions = []Action{ActionRead, ActionOperate, ActionOwnKeys, ActionPostEvents, ActionConfigure, ActionManage}

// permissions is the matrix of design section 4: the only place that says
// which role may do what. Workspace limits are not in it: only the platform
// token sets them.
var permissions = map[Role]map[Action]bool{
	RoleOwner:  {ActionRead: true, ActionOperate: true, ActionOwnKeys: true, ActionPostEvents: true, ActionConfigure: true, ActionManage: true},
	RoleAdmin:  {ActionRead: true, ActionOperate: true, ActionOwnKeys: true, ActionPostEvents: true, ActionConfigure: true},
	RoleMember: {ActionRead: true, ActionOperate: true, ActionOwnKeys: true, ActionPostEvents: true},
	RoleViewer: {ActionRead: true},
}

// Allows reports whether role r may perform action a.
func (r Role) Allows(a Action) bool { return permissions[r][a] }
