package admin

import (
	"net/http"
)

// The call context (design section 12): what the service of a call reads
// and writes with the call token the edge put in X-Edge-Call-Token. The
// route authorized the token (a call in progress, or ended less than 60 s
// ago); it acts on that call and its workspace only, so there is nothing
// of another workspace to name.

func (s *Server) callContext(w http.ResponseWriter, r *request) error {
	s.project(r.Context(), r.p.WorkspaceID) // the caller's entity, current
	cc, err := s.store.CallContext(r.Context(), r.p.WorkspaceID, r.p.CallID, r.p.ServiceID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, cc)
	return nil
}

func (s *Server) postCallEvent(w http.ResponseWriter, r *request) error {
	return s.appendDomainEvent(w, r, r.p.WorkspaceID, r.p.CallID)
}
