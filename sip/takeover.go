package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// Warm transfer to a human (design section 11): the call can outlive its
// agent. It is armed either by an operator on the call (Server.TakeOver,
// sip/operators' POST .../operators/{id}/take-over, an operator who
// barges) or by a REFER to the workspace's operators (hold.go: the caller
// hears hold audio until an operator is heard). While it is armed, a BYE
// of the service does not end the call: it is answered 200, leg B is let
// go (no RTP to or from it, no session timer or media timeout for it, no
// BYE at the end), and the call goes on between the caller and the
// operator, call.transferred {"kind": "operators", "operator_id"} in the
// stream and edge_sip_transfers_total{result="taken_over"}. The call then
// ends when the operator leaves (operator_left) or the caller hangs up;
// with no operator yet, the caller hears hold audio until one joins in
// barge, for at most Config.OperatorWait (no_operator).

// Result of edge_sip_transfers_total for a call an operator took over.
const transferTakenOver = "taken_over"

// Causes that end a call an operator took over.
var (
	errOperatorLeft = errors.New("the operator who took the call over left")
	errNoOperator   = errors.New("no operator joined the waiting caller")
)

// takeover is the warm-transfer state of a call.
type takeover struct {
	mu        sync.Mutex
	armed     bool            // a BYE of the service leaves the call up
	waiting   bool            // armed by a REFER to the operators (hold.go)
	op        *media.Operator // the operator who takes or took the call over
	agentGone bool            // the service hung up; leg B is let go
}

// warmMedia is what a warm transfer needs of the media session beyond
// MediaSession: *media.Session (a fake session has none of it).
type warmMedia interface {
	PlayHold(on bool) error
	DropRemote(l media.Leg)
	Operators() []*media.Operator
}

var _ warmMedia = (*media.Session)(nil)

func (c *call) warmMedia() (warmMedia, bool) {
	m, ok := unwrapSession(c.sess).(warmMedia)
	return m, ok
}

// TakeOver arms operator op of call id, of workspace ws, to take the call
// over when the agent leaves (see above); it must be on the call in barge
// mode. ErrCallNotLive: no such answered call of the workspace on this
// node; ErrNotBarging: op is not heard by the caller.
func (s *Server) TakeOver(id, ws string, op *media.Operator) error {
	c, ok := s.dialogs.call(id)
	if !ok || c.ctx.Err() != nil || c.route.Workspace.ID != ws || op.CallID() != id {
		return fmt.Errorf("take over call %s: %w", id, ErrCallNotLive)
	}
	if op.Mode() != media.ModeBarge {
		return fmt.Errorf("take over call %s: %w", id, ErrNotBarging)
	}
	c.to.mu.Lock()
	defer c.to.mu.Unlock()
	if c.to.op == op {
		return nil
	}
	if c.to.agentGone && c.to.op != nil {
		return fmt.Errorf("take over call %s: %w", id, ErrTakenOver)
	}
	c.to.armed, c.to.op = true, op
	c.event(EventTransferRequested, map[string]any{"kind": tenancy.TransferOperators, "source": "operator", "operator_id": op.ID()})
	c.log.Info("operator arms take-over", "operator_id", op.ID())
	if c.to.agentGone {
		c.operatorHasCall(op) // the caller was waiting for them
	} else {
		go c.watchArmed(op)
	}
	return nil
}

// watchArmed disarms a take-over whose operator leaves before the agent.
func (c *call) watchArmed(op *media.Operator) {
	select {
	case <-c.ctx.Done():
		return
	case <-op.Done():
	}
	c.to.mu.Lock()
	defer c.to.mu.Unlock()
	if c.to.op != op || c.to.agentGone {
		return // operatorHasCall watches it now
	}
	c.to.op = nil
	c.to.armed = c.to.waiting
}

// operatorHasCall records that op has the call without its agent and ends
// the call when op leaves. c.to.mu is held.
func (c *call) operatorHasCall(op *media.Operator) {
	c.to.op = op
	c.event(EventTransferred, map[string]any{"kind": tenancy.TransferOperators, "operator_id": op.ID()})
	c.s.xfer.met.transfers.WithLabelValues(transferTakenOver).Inc()
	c.log.Info("operator took the call over", "operator_id", op.ID())
	go func() {
		select {
		case <-c.ctx.Done():
		case <-op.Done():
			c.terminate(errOperatorLeft)
		}
	}()
}

// agentLeaves takes a BYE of the service while a take-over is armed: it
// answers it, lets leg B go and reports true; false when the BYE ends the
// call as usual.
func (c *call) agentLeaves(req *sip.Request, tx sip.ServerTransaction) bool {
	c.to.mu.Lock()
	defer c.to.mu.Unlock()
	if !c.to.armed || c.to.agentGone {
		return false
	}
	dlg := c.svc()
	if err := dlg.ReadBye(req, tx); err != nil {
		c.log.Debug("read bye of the leaving agent", "error", err)
	}
	c.to.agentGone = true
	c.mu.Lock()
	c.bUp = false
	peer := c.peer
	c.peer = netip.Addr{}
	c.mu.Unlock()
	c.s.dialogs.dropLeg(dlg.DialogID(), c)
	c.s.dialogs.dropPeer(peer)
	if m, ok := c.warmMedia(); ok {
		m.DropRemote(media.LegB)
	}
	c.log.Info("agent left, the call goes on", "operator", c.to.op != nil)
	if c.to.op != nil {
		c.to.waiting = false
		c.operatorHasCall(c.to.op)
	}
	// Else the caller waits on hold audio (hold.go's awaitOperator).
	return true
}

// agentIsGone reports whether the service left a call an operator takes
// over: leg B has no media timeout and no session timer any more.
func (c *call) agentIsGone() bool {
	c.to.mu.Lock()
	defer c.to.mu.Unlock()
	return c.to.agentGone
}
