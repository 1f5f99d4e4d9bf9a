package sip

import (
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// CallHandle is a live call of this edge node as other packages of the
// edge see it (the operator signalling of sip/operators): who it belongs
// to and the media session operators join.
type CallHandle struct {
	// ID is the edge's call id (X-Edge-Call-ID, the call record's id).
	ID string
	// WorkspaceID and ServiceID are the call's workspace and service.
	WorkspaceID string
	ServiceID   string
	// From and To are the caller and the dialled number.
	From string
	To   string
	// State is tenancy.CallRinging or tenancy.CallAnswered.
	State string
	// StartedAt is when the trunk's INVITE was admitted.
	StartedAt time.Time
	// Session is the call's media relay; nil when the Server was built
	// with a Media that does not make *media.Session (test fakes).
	Session *media.Session
}

// Call returns the live call id of this node, if it carries it and the
// call has not ended. The handle is a snapshot; its Session stays valid
// until the call ends (operators joined to it are then closed).
func (s *Server) Call(id string) (CallHandle, bool) {
	c, ok := s.dialogs.call(id)
	if !ok || c.ctx.Err() != nil { // a cancelled call is ending
		return CallHandle{}, false
	}
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec.State == tenancy.CallEnded {
		return CallHandle{}, false
	}
	sess, _ := unwrapSession(c.sess).(*media.Session)
	return CallHandle{
		ID: rec.ID, WorkspaceID: rec.WorkspaceID, ServiceID: rec.ServiceID,
		From: rec.From, To: rec.To, State: rec.State, StartedAt: rec.StartedAt,
		Session: sess,
	}, true
}

// NodeID returns the node id this server writes into call records
// (Config.NodeID).
func (s *Server) NodeID() string { return s.cfg.NodeID }
