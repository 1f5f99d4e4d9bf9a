package operators

import (
	"context"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// maxRecentCalls bounds the recent calls a caller view carries.
const maxRecentCalls = 20

// callerView is the answer of GET /v1/calls/{call_id}/caller.
type callerView struct {
	CallID string `json:"call_id"`
	// Number is the caller's number as the call record has it.
	Number string `json:"number"`
	// Identified is false when the number is not E.164 (withheld,
	// anonymous): there is no projection to read.
	Identified bool `json:"identified"`
	// FirstCall is true when the projection knows no call of this number
	// other than this one.
	FirstCall bool `json:"first_call"`
	// Entity is the projection as stored (its recent calls at most
	// maxRecentCalls), an empty one for a caller without an entity.
	Entity tenancy.CallerEntity `json:"entity"`
	// PreviousCalls are the entity's recent calls other than this one.
	PreviousCalls []tenancy.RecentCall `json:"previous_calls"`
}

// getCaller serves GET /v1/calls/{call_id}/caller: the projection of the
// call's caller (its From number) in the key's workspace. The call must be
// of the key's workspace (else 404, as a call that does not exist, by
// wrap); a caller without an entity is an empty projection with
// first_call true, not an error.
func (h *Handler) getCaller(w http.ResponseWriter, r *request) error {
	if h.callers == nil {
		return ErrNoProjections
	}
	v := callerView{CallID: r.call.ID, Number: r.call.From, PreviousCalls: []tenancy.RecentCall{}}
	v.Entity.RecentCalls = []tenancy.RecentCall{}
	if tenancy.IsE164(r.call.From) {
		v.Identified = true
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
		defer cancel()
		ent, ok, err := h.callers.Caller(ctx, r.p.WorkspaceID, r.call.From)
		if err != nil {
			return err
		}
		if ok {
			v.Entity = ent
		}
		v.FirstCall = firstCall(v.Entity, r.call.ID)
	}
	if len(v.Entity.RecentCalls) > maxRecentCalls {
		v.Entity.RecentCalls = v.Entity.RecentCalls[:maxRecentCalls]
	}
	if v.Entity.RecentCalls == nil {
		v.Entity.RecentCalls = []tenancy.RecentCall{}
	}
	for _, c := range v.Entity.RecentCalls {
		if c.CallID != r.call.ID {
			v.PreviousCalls = append(v.PreviousCalls, c)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// firstCall reports whether an entity knows no call other than callID:
// none at all, or one that is callID itself (a projection that already
// counts the call in progress).
func firstCall(e tenancy.CallerEntity, callID string) bool {
	for _, c := range e.RecentCalls {
		if c.CallID != callID {
			return false
		}
	}
	switch e.Calls {
	case 0:
		return true
	case 1:
		return len(e.RecentCalls) == 1 // it is callID
	}
	return false
}
