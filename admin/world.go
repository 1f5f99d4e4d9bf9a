package admin

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// The world model (design section 12): domain events posted by members
// and agents, and the entity projections of each workspace's event stream.
// Projections are kept current in three places, all through
// tenancy.Store.Project, which applies each event exactly once: after
// every event this API appends, before every entity read of this API, and
// by the follower of Serve (followProjections) for the events the edges
// append.

// newEventBody is the body of a domain event.
type newEventBody struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// rebuildResult is the answer of POST projections/rebuild.
type rebuildResult struct {
	Events int `json:"events"`
}

func (s *Server) postEvent(w http.ResponseWriter, r *request) error {
	callID := ""
	if r.p.Agent {
		callID = r.p.CallID
	}
	return s.appendDomainEvent(w, r, r.ws, callID)
}

// appendDomainEvent appends the body's event to workspace ws as r's
// principal and projects it.
func (s *Server) appendDomainEvent(w http.ResponseWriter, r *request, ws, callID string) error {
	var body newEventBody
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	actor, _ := json.Marshal(actorData(r.p))
	e, err := s.store.AppendDomainEvent(r.Context(), ws, tenancy.Event{Type: body.Type, CallID: callID, Data: body.Data, Actor: actor})
	if err != nil {
		return err
	}
	s.project(r.Context(), ws)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// project brings ws's projections up to date; a failure only delays
// them (the follower retries), so it is logged, not returned.
func (s *Server) project(ctx context.Context, ws string) {
	if _, err := s.store.Project(ctx, ws); err != nil && ctx.Err() == nil {
		s.log.Warn("projection not updated", "workspace_id", ws, "err", err)
	}
}

func (s *Server) listEntities(w http.ResponseWriter, r *request) error {
	kind := r.PathValue("kind")
	if !tenancy.ValidEntityKind(kind) {
		return tenancy.ErrNotFound
	}
	p, err := s.pageOf(r.Request)
	if err != nil {
		return err
	}
	s.project(r.Context(), r.ws)
	items, next, err := s.store.ListEntities(r.Context(), r.ws, kind, p.cursor, p.limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[json.RawMessage]{Items: items, NextCursor: next})
	return nil
}

func (s *Server) getEntity(w http.ResponseWriter, r *request) error {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	if !tenancy.ValidEntityKind(kind) {
		return tenancy.ErrNotFound
	}
	if kind == tenancy.EntityCallers || kind == tenancy.EntityNumbers {
		n, ok := tenancy.NormalizeNumber(id)
		if !ok {
			return tenancy.ErrNotFound
		}
		id = n
	}
	if _, err := s.store.GetWorkspace(r.Context(), r.ws); err != nil {
		return err
	}
	s.project(r.Context(), r.ws)
	e, err := s.store.Entity(r.Context(), r.ws, kind, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) rebuildProjections(w http.ResponseWriter, r *request) error {
	n, err := s.store.RebuildProjections(r.Context(), r.ws)
	if err != nil {
		return err
	}
	s.log.Info("projections rebuilt", "workspace_id", r.ws, "events", n, "actor", actorOf(r.p))
	writeJSON(w, http.StatusOK, rebuildResult{Events: n})
	return nil
}
