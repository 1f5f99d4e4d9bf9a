package sip

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// DialStore is what calls placed by the edge need of the store
// (*tenancy.Store): the dial requests of agent-placed calls and the
// credentials of outbound trunks, which no snapshot carries. A CallStore
// that implements it is used for it.
type DialStore interface {
	ReadDials(ctx context.Context, node string, wait time.Duration) ([]tenancy.DialRequest, error)
	OutboundCredentials(ctx context.Context, ws, id string) (username, password string, err error)
}

var _ DialStore = (*tenancy.Store)(nil)

// workspaces is what the edge needs of the tenant map to place calls of a
// workspace (*routing.Map).
type workspaces interface {
	Workspace(id string) (*routing.WorkspaceView, bool)
}

// xferState is the Server's part for outbound calls and transfers.
type xferState struct {
	dials DialStore // nil: the edge places no agent calls
	cps   *cpsLimiter
	met   *xferMetrics

	mu        sync.Mutex
	transfers map[string]*transferState // by call id, while the call lasts
}

// xferMetrics of outbound calls and transfers (namespace edge, subsystem
// sip); results come from fixed sets.
type xferMetrics struct {
	outbound  *prometheus.CounterVec
	transfers *prometheus.CounterVec
}

// Results of edge_sip_outbound_calls_total.
const (
	outboundAnswered = "answered"
	outboundBusy     = "busy"
	outboundNoAnswer = "no_answer"
	outboundDeclined = "declined"
	outboundFailed   = "failed"
	outboundRefused  = "refused"
	outboundCanceled = "canceled"
)

// Results of edge_sip_transfers_total.
const (
	transferDone     = "transferred"
	transferFailed   = "failed"
	transferRefused  = "refused"
	transferToTrunk  = "passed_to_trunk"
	transferOperator = "operators"
)

func newXferState(s *Server) (*xferState, error) {
	pacer, _ := s.store.(trunkPacer)
	x := &xferState{cps: newCPSLimiter(pacer), met: &xferMetrics{
		outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "sip", Name: "outbound_calls_total",
			Help: "Calls the edge placed through outbound trunks (agent-placed calls and transfers to the PSTN), by result.",
		}, []string{"result"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "sip", Name: "transfers_total",
			Help: "Transfers: REFERs from services (transferred, failed, refused, operators, passed_to_trunk), INVITEs with Replaces (replaced, refused), operator take-overs (taken_over).",
		}, []string{"result"}),
	}}
	x.dials, _ = s.store.(DialStore)
	if s.reg != nil {
		for _, c := range []prometheus.Collector{x.met.outbound, x.met.transfers} {
			if err := s.reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// outboundResult is the metric result of a dial's outcome.
func outboundResult(err error) string {
	if err == nil {
		return outboundAnswered
	}
	switch dialReason(err) {
	case ReasonCalleeBusy, ReasonConcurrentLimit:
		return outboundBusy
	case ReasonNoAnswer:
		return outboundNoAnswer
	case ReasonCalleeDeclined:
		return outboundDeclined
	case ReasonNotAllowed, ReasonFromNotOwned, ReasonNoOutboundTrunk, ReasonUnknownService, ReasonDialExpired, ReasonSuspended, ReasonCPSLimit, ReasonTrunkCPS:
		return outboundRefused
	case ReasonHangupRequested, ReasonShutdown, ReasonCanceled:
		return outboundCanceled
	}
	return outboundFailed
}

// dialReason is the reason of a dial's or a placed call's failure.
func dialReason(err error) Reason {
	var de *dialError
	if errors.As(err, &de) {
		return de.Reason
	}
	return classify(err).Reason
}

// outLeg is leg A of a call the edge placed: the edge is the UAC of the
// carrier's dialog (an inbound call's leg A is a UAS dialog, call.a).
type outLeg struct {
	mu         sync.Mutex
	dlg        *sipgo.DialogClientSession
	gateway    netip.Addr
	answeredAt time.Time
}

func (o *outLeg) dialog() *sipgo.DialogClientSession {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dlg
}

// The hooks below let the dialog code of call treat leg A the same for
// calls from trunks and calls the edge placed.

// byeTrunk hangs up leg A.
func (c *call) byeTrunk(ctx context.Context) error {
	if c.out != nil {
		if d := c.out.dialog(); d != nil {
			return d.Bye(ctx)
		}
		return nil
	}
	return c.a.Bye(ctx)
}

// readTrunkBye takes a BYE of leg A.
func (c *call) readTrunkBye(req *sip.Request, tx sip.ServerTransaction) error {
	if c.out != nil {
		if d := c.out.dialog(); d != nil {
			return d.ReadBye(req, tx)
		}
		return tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	}
	return c.a.ReadBye(req, tx)
}

// readTrunkAck takes an ACK of leg A (a 2xx of a re-INVITE from the
// trunk); a placed call's leg has nothing to confirm.
func (c *call) readTrunkAck(req *sip.Request, tx sip.ServerTransaction) error {
	if c.out != nil {
		return nil
	}
	err := c.a.ReadAck(req, tx)
	if errors.Is(err, sipgo.ErrDialogInvalidCseq) && req.CSeq().SeqNo == c.a.InviteRequest.CSeq().SeqNo {
		// The ACK of the INVITE, overtaken by a later request of the trunk
		// (UDP reorders): sipgo's dialog checks it against that request's
		// CSeq and stays unconfirmed, so end the INVITE transaction it was
		// for, which is what a BYE on the leg waits for otherwise.
		c.tx.Terminate()
		return nil
	}
	return err
}

// trunkDialog is leg A's dialog for in-dialog requests.
func (c *call) trunkDialog() dialogLeg {
	if c.out != nil {
		if d := c.out.dialog(); d != nil {
			return d
		}
		return noDialog{}
	}
	return c.a
}

// noDialog refuses in-dialog requests of a leg not yet confirmed.
type noDialog struct{}

func (noDialog) ReadRequest(*sip.Request, sip.ServerTransaction) error { return errNoDialogYet }

func (noDialog) TransactionRequest(context.Context, *sip.Request) (sip.ClientTransaction, error) {
	return nil, errNoDialogYet
}

func (noDialog) WriteRequest(*sip.Request) error { return errNoDialogYet }

// remoteTarget is the Request-URI of the edge's requests on a placed
// call's leg A: the callee's Contact.
func (o *outLeg) remoteTarget() sip.Uri {
	d := o.dialog()
	if d == nil {
		return sip.Uri{}
	}
	if d.InviteResponse != nil {
		if ct := d.InviteResponse.Contact(); ct != nil {
			return ct.Address
		}
	}
	return d.InviteRequest.Recipient
}

var errNoDialogYet = context.Canceled

// fromGateway reports whether ip may send requests on leg A of a call the
// edge placed: the gateway that answered.
func (c *call) fromGateway(ip netip.Addr) bool {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return ip.IsValid() && c.out.gateway.IsValid() && ip.Unmap() == c.out.gateway
}

// endOutbound forgets what a placed call's leg A added to the dialog
// cache beside the call's own entries: the gateway as a peer.
func (c *call) endOutbound() {
	c.s.xfer.forget(c.id)
	if c.out == nil {
		return
	}
	c.out.mu.Lock()
	gw := c.out.gateway
	c.out.gateway = netip.Addr{}
	c.out.mu.Unlock()
	c.s.dialogs.dropPeer(gw)
}

// dropPeer undoes one addPeer of ip.
func (d *dialogCache) dropPeer(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	ip = ip.Unmap()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.peers[ip] <= 1 {
		delete(d.peers, ip)
	} else {
		d.peers[ip]--
	}
}
