package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/voiceedge/edge/tenancy"
)

// EventHangupRequested is the event a hang-up request through the API
// appends to the workspace's stream (the edge then ends the call with
// call.ended).
const EventHangupRequested = "call.hangup_requested"

// hangupBody is the optional body of POST calls/{id}/hangup.
type hangupBody struct {
	Reason string `json:"reason,omitempty"`
}

// hangupAccepted is the 202 of POST calls/{id}/hangup: the node carrying
// the call has been asked to end it.
type hangupAccepted struct {
	CallID string `json:"call_id"`
	Status string `json:"status"`
}

func (s *Server) listCalls(w http.ResponseWriter, r *request) error {
	p, err := s.pageOf(r.Request)
	if err != nil {
		return err
	}
	active := false
	if v := r.URL.Query().Get("active"); v != "" {
		if active, err = strconv.ParseBool(v); err != nil {
			return invalid("active", "must be true or false")
		}
	}
	calls, next, err := s.store.ListCalls(r.Context(), r.ws, active, p.cursor, p.limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[tenancy.CallRecord]{Items: calls, NextCursor: next})
	return nil
}

func (s *Server) getCall(w http.ResponseWriter, r *request) error {
	c, err := s.store.GetCall(r.Context(), r.ws, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) hangup(w http.ResponseWriter, r *request) error {
	var body hangupBody
	if err := decodeBody(w, r.Request, &body, true); err != nil {
		return err
	}
	if body.Reason == "" {
		body.Reason = "operator"
	}
	if len(body.Reason) > 200 || !utf8.ValidString(body.Reason) {
		return invalid("reason", "at most 200 bytes of UTF-8")
	}
	// Per workspace: a flood of hangups would fill the node's control
	// stream (shared by every tenant on that node) and trim the others'.
	if ok, wait := s.hangupLimits.take(r.ws); !ok {
		s.metrics.rateLimited.WithLabelValues("hangup").Inc()
		return limited(wait)
	}
	id := r.PathValue("id")
	if err := s.store.RequestHangup(r.Context(), r.ws, id, body.Reason); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"actor": actorData(r.p), "reason": body.Reason})
	if _, err := s.store.AppendEvent(r.Context(), r.ws, tenancy.Event{Type: EventHangupRequested, CallID: id, Data: data}); err != nil {
		// The request reached the edge; only its audit record is missing.
		s.log.Warn("hangup requested but not recorded", "workspace_id", r.ws, "call_id", id, "err", err)
	}
	writeJSON(w, http.StatusAccepted, hangupAccepted{CallID: id, Status: "hangup_requested"})
	return nil
}

// actorData is who did something, as audit events record it (the shape of
// tenancy's config.changed events).
func actorData(p tenancy.Principal) map[string]any {
	if p.Platform {
		return map[string]any{"platform": true}
	}
	if p.Agent {
		return map[string]any{"agent": true, "call_id": p.CallID, "service_id": p.ServiceID}
	}
	return map[string]any{"account_id": p.AccountID, "key_id": p.KeyID, "role": p.Role}
}
