package operators

import (
	"context"
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/tenancy"
)

// Store is what the operator layer reads and writes in Redis:
// *tenancy.Store. It reads keys, accounts, calls and the operator config
// (every request and every recheck), and writes only call state: events,
// the node registry and operator presence.
type Store interface {
	Authenticate(ctx context.Context, secret string) (tenancy.Principal, error)
	GetWorkspace(ctx context.Context, id string) (tenancy.Workspace, error)
	GetAPIKey(ctx context.Context, ws, id string) (tenancy.APIKey, error)
	GetAccount(ctx context.Context, ws, id string) (tenancy.Account, error)
	Get(ctx context.Context, ws string, kind tenancy.Kind, id string) (tenancy.Item, error)

	GetCall(ctx context.Context, ws, id string) (tenancy.CallRecord, error)
	ListCalls(ctx context.Context, ws string, active bool, after string, limit int) ([]tenancy.CallRecord, string, error)
	// RequestHangup asks the node carrying a call to hang it up (its
	// control stream).
	RequestHangup(ctx context.Context, ws, id, reason string) error

	AppendEvent(ctx context.Context, ws string, e tenancy.Event) (string, error)
	LastEventID(ctx context.Context, ws string) (string, error)
	WaitEvents(ctx context.Context, ws, after string, wait time.Duration) ([]tenancy.Event, error)

	RegisterNode(ctx context.Context, node, addr string, ttl time.Duration) error
	UnregisterNode(ctx context.Context, node string) error
	NodeHTTPAddr(ctx context.Context, node string) (string, error)

	PutOperator(ctx context.Context, ws string, rec tenancy.OperatorRecord, lease time.Duration) error
	RemoveOperator(ctx context.Context, ws, id string) error
	ListOperators(ctx context.Context, ws string) ([]tenancy.OperatorRecord, error)
}

var _ Store = (*tenancy.Store)(nil)

// StreamStore is where event streams wait for events: *tenancy.Store, best
// on a Redis client of its own (WithStreamStore).
type StreamStore interface {
	LastEventID(ctx context.Context, ws string) (string, error)
	WaitEvents(ctx context.Context, ws, after string, wait time.Duration) ([]tenancy.Event, error)
}

var _ StreamStore = (*tenancy.Store)(nil)

// Calls finds the live calls of this node and hands them to operators:
// *sip.Server.
type Calls interface {
	Call(id string) (sip.CallHandle, bool)
	// TakeOver arms operator op to take call id of workspace ws over when
	// its agent leaves (sip/takeover.go).
	TakeOver(id, ws string, op *media.Operator) error
}

var _ Calls = (*sip.Server)(nil)

// Engine makes operators' WebRTC legs: *media.OperatorEngine.
type Engine interface {
	Join(ctx context.Context, sess *media.Session, accountID string, mode media.OperatorMode, offerSDP string) (*media.Operator, string, error)
}

var _ Engine = (*media.OperatorEngine)(nil)

// Callers reads the world model's projection of a caller (design section
// 12): the entity that the control plane keeps per workspace and caller
// number: *tenancy.Store. A caller without an entity
// is ok=false with a nil error (the caller's first call); a store that
// cannot be read is an error wrapping tenancy.ErrUnavailable.
type Callers interface {
	Caller(ctx context.Context, ws, number string) (c tenancy.CallerEntity, ok bool, err error)
}

var _ Callers = (*tenancy.Store)(nil)
