package admin

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// EventDialRequested is the audit event of an agent-placed call (the edge
// then writes call.started, call.ringing, call.answered, call.ended).
const EventDialRequested = "call.dial_requested"

// dialBody is the body of POST /v1/workspaces/{ws}/calls (design section
// 11). OutboundTrunkID is optional: without it the first outbound trunk of
// the workspace (by id) whose allow-list covers to is used.
type dialBody struct {
	From            string                 `json:"from"`
	To              string                 `json:"to"`
	ServiceID       string                 `json:"service_id"`
	OutboundTrunkID string                 `json:"outbound_trunk_id,omitempty"`
	VoiceSettings   *tenancy.VoiceSettings `json:"voice_settings,omitempty"`
}

// placeCall records an agent-placed call and asks the edges to dial it:
// 201 with the call (direction outbound, state dialing). Refusals: 422
// naming from (not a number of this workspace, or not E.164), to (not
// E.164), service_id, outbound_trunk_id or voice_settings; 403 naming to
// when no outbound trunk of the workspace may reach the destination (its
// allowed_prefixes, premium-rate ranges); 409 when the workspace is
// suspended; 429 over the workspace's request budget.
func (s *Server) placeCall(w http.ResponseWriter, r *request) error {
	var body dialBody
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	if !tenancy.IsE164(body.From) {
		return invalid("from", "must be an E.164 number ('+' and 8 to 15 digits) of this workspace")
	}
	if !tenancy.IsE164(body.To) {
		return invalid("to", "must be an E.164 number: '+' and 8 to 15 digits, no leading zero")
	}
	if !tenancy.ValidID(body.ServiceID) {
		return invalid("service_id", "must be the id of a service of this workspace")
	}
	var voice json.RawMessage
	if body.VoiceSettings != nil {
		if err := body.VoiceSettings.Validate(); err != nil {
			if ve, ok := err.(*tenancy.ValidationError); ok {
				return invalid("voice_settings."+ve.Field, "%s", ve.Reason)
			}
			return err
		}
		voice, _ = json.Marshal(body.VoiceSettings)
	}
	ctx := r.Context()
	wsp, err := s.store.GetWorkspace(ctx, r.ws)
	if err != nil {
		return err
	}
	if wsp.Status != tenancy.StatusActive {
		return fmt.Errorf("%w: workspace is suspended", tenancy.ErrConflict)
	}
	owner, err := s.store.NumberOwner(ctx, body.From)
	if err != nil {
		return err
	}
	if owner != r.ws {
		// The same answer whether another workspace owns it or nobody does.
		return invalid("from", "must be a phone number of this workspace")
	}
	if _, err := s.store.Get(ctx, r.ws, tenancy.KindService, body.ServiceID); err != nil {
		if errors.Is(err, tenancy.ErrNotFound) {
			return invalid("service_id", "no service %q in this workspace", body.ServiceID)
		}
		return err
	}
	trunk, err := s.outboundTrunkFor(r, body)
	if err != nil {
		return err
	}
	if ok, wait := s.hangupLimits.take(r.ws); !ok {
		s.metrics.rateLimited.WithLabelValues("dial").Inc()
		return limited(wait)
	}
	now := time.Now().UTC()
	rec := tenancy.CallRecord{
		ID: newCallID(), WorkspaceID: r.ws, ServiceID: body.ServiceID, From: body.From, To: body.To,
		State: tenancy.CallDialing, StartedAt: now, Direction: tenancy.DirectionOutbound,
	}
	dr := tenancy.DialRequest{WorkspaceID: r.ws, CallID: rec.ID, From: body.From, To: body.To, ServiceID: body.ServiceID,
		TrunkID: trunk.ID, Voice: voice, RequestedAt: now}
	if err := s.store.RequestDial(ctx, rec, dr); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"actor": actorData(r.p), "from": body.From, "to": body.To,
		"service_id": body.ServiceID, "outbound_trunk_id": trunk.ID, "direction": tenancy.DirectionOutbound})
	if _, err := s.store.AppendEvent(ctx, r.ws, tenancy.Event{Type: EventDialRequested, CallID: rec.ID, Data: data}); err != nil {
		s.log.Warn("dial requested but not recorded", "workspace_id", r.ws, "call_id", rec.ID, "err", err)
	}
	w.Header().Set("Location", "/v1/workspaces/"+r.ws+"/calls/"+rec.ID)
	writeJSON(w, http.StatusCreated, rec)
	return nil
}

// outboundTrunkFor picks the outbound trunk of the call: the one named, or
// the first by id whose allow-list covers the destination.
func (s *Server) outboundTrunkFor(r *request, body dialBody) (*tenancy.OutboundTrunk, error) {
	items, _, err := s.store.List(r.Context(), r.ws, tenancy.KindOutboundTrunk, "", 1000)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, invalid("outbound_trunk_id", "the workspace has no outbound trunk")
	}
	named := body.OutboundTrunkID != ""
	for _, it := range items {
		t := it.(*tenancy.OutboundTrunk)
		if named && t.ID != body.OutboundTrunkID {
			continue
		}
		if t.Allows(body.To) {
			return t, nil
		}
		if named {
			return nil, forbidden("to: destination not in outbound trunk " + t.ID + "'s allowed_prefixes (or a premium-rate range)")
		}
	}
	if named {
		return nil, invalid("outbound_trunk_id", "no outbound trunk %q in this workspace", body.OutboundTrunkID)
	}
	return nil, forbidden("to: destination not in any outbound trunk's allowed_prefixes (or a premium-rate range)")
}

// newCallID returns a random call id, in the edge's format.
func newCallID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "call_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
