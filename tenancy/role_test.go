package tenancy

import "testing"

// TestPermissionMatrix walks the whole matrix of design section 4.
func TestPermissionMatrix(t *testing.T) {
	want := map[Action][]Role{
		ActionRead:       {RoleOwner, RoleAdmin, RoleMember, RoleViewer},
		ActionOperate:    {RoleOwner, RoleAdmin, RoleMember},
		ActionOwnKeys:    {RoleOwner, RoleAdmin, RoleMember},
		ActionPostEvents: {RoleOwner, RoleAdmin, RoleMember},
		ActionConfigure:  {RoleOwner, RoleAdmin},
		ActionManage:     {RoleOwner},
	}
	if len(want) != len(Actions) {
		t.Fatalf("matrix test covers %d actions, package has %d", len(want), len(Actions))
	}
	for _, a := range Actions {
		allowed := map[Role]bool{}
		for _, r := range want[a] {
			allowed[r] = true
		}
		for _, r := range Roles {
			t.Run(string(r)+"/"+string(a), func(t *testing.T) {
				if got := r.Allows(a); got != allowed[r] {
					t.Errorf("%s.Allows(%s) = %v, want %v", r, a, got, allowed[r])
				}
			})
		}
	}
	if Role("root").Allows(ActionRead) {
		t.Error("an unknown role must be allowed nothing")
	}
}
