package tenancy

import (
	"encoding/json"
	"time"
)

// Event types of a workspace's event stream.
const (
	EventConfigChanged       = "config.changed"
	EventCallStarted         = "call.started"
	EventCallAnswered        = "call.answered"
	EventCallEnded           = "call.ended"
	EventOperatorJoined      = "operator.joined"
	EventOperatorLeft        = "operator.left"
	EventEscalationRequested = "call.escalation_requested"
	EventPromotionApplied    = "promotion.applied"
)

// Event is an entry of a workspace's event stream. Its id is the Redis
// stream id, which orders events and serves as a paging cursor.
type Event struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Time   time.Time       `json:"time"`
	CallID string          `json:"call_id,omitempty"`
	Data   json.RawMessage `json:"data"`
	// Actor is who posted a domain event: {"account_id", "key_id", "role"}
	// for a member's key, {"agent": true, "call_id", "service_id"} for a
	// call token; absent on the platform's own events.
	Actor json.RawMessage `json:"actor,omitempty"`
}

// Call states.
const (
	CallRinging  = "ringing"
	CallAnswered = "answered"
	CallEnded    = "ended"
)

// CallRecord is a call of a workspace, written by the edge that carries it.
type CallRecord struct {
	ID          string     `json:"id"`
	WorkspaceID string     `json:"workspace_id"`
	ServiceID   string     `json:"service_id"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	State       string     `json:"state"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at"`
	EndedAt     *time.Time `json:"ended_at"`
	EndReason   string     `json:"end_reason"`
	NodeID      string     `json:"node_id"`
	// Direction is DirectionInbound (from a trunk) or DirectionOutbound
	// (placed by the workspace: agent-placed calls).
	Direction string `json:"direction"`
}

// Change is an entry of the global change stream that edges follow: the
// workspace WorkspaceID reached Version by an operation on one item.
type Change struct {
	// Seq is the stream's own gap-free sequence number.
	Seq         int64
	StreamID    string
	WorkspaceID string
	Version     int64
	Kind        string
	ItemID      string
	// Op is "create", "update", "delete" or "delete_workspace".
	Op string
}
