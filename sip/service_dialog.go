package sip

import (
	"context"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// serviceDialog is leg B's dialog, whichever side set it up: the edge's
// INVITE to the service or to a transfer target (a client dialog, the edge
// is its UAC), or the service's INVITE with Replaces (replaces.go: a
// server dialog, the edge is its UAS). Everything that sends or takes
// in-dialog requests on leg B (BYE, re-INVITE, UPDATE, INFO, NOTIFY,
// REFER, the session timer) goes through it.
type serviceDialog interface {
	dialogLeg
	ReadBye(req *sip.Request, tx sip.ServerTransaction) error
	Bye(ctx context.Context) error
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	// DialogID is the id the dialog cache knows it by (sipgo's: Call-ID,
	// the UAS's tag, the UAC's tag).
	DialogID() string
	// Target is the Request-URI of the edge's requests in the dialog:
	// the peer's Contact (RFC 3261 section 12.2.1.1).
	Target() sip.Uri
	// Peer is the peer's message of the dialog's INVITE transaction (its
	// 200, or its INVITE): what it allows and supports.
	Peer() sip.Message
	// Laddr is the local address the edge's requests leave from (the
	// listening socket the INVITE went out of); zero: the transport's.
	Laddr() sip.Addr
	// UAS reports whether the edge is the dialog's UAS.
	UAS() bool
	// InviteTx is the INVITE transaction that set the dialog up (nil
	// before it exists): the edge ends it with the dialog (endInvite).
	InviteTx() sip.Transaction
}

// clientService is leg B dialled by the edge.
type clientService struct{ *sipgo.DialogClientSession }

func (d clientService) DialogID() string { return d.ID }

func (d clientService) Target() sip.Uri {
	if res := d.InviteResponse; res != nil {
		if ct := res.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
	}
	return *d.InviteRequest.Recipient.Clone()
}

func (d clientService) Peer() sip.Message {
	if d.InviteResponse == nil {
		return d.InviteRequest
	}
	return d.InviteResponse
}

func (d clientService) Laddr() sip.Addr { return d.InviteRequest.Laddr }
func (d clientService) UAS() bool       { return false }

func (d clientService) InviteTx() sip.Transaction {
	if tx := d.InviteTransaction(); tx != nil {
		return tx
	}
	return nil
}

// serverService is leg B set up by the service's INVITE (with Replaces),
// tx that INVITE's transaction.
type serverService struct {
	*sipgo.DialogServerSession
	tx sip.ServerTransaction
}

func (d serverService) DialogID() string { return d.ID }

func (d serverService) Target() sip.Uri {
	if ct := d.InviteRequest.Contact(); ct != nil {
		return *ct.Address.Clone()
	}
	return *d.InviteRequest.From().Address.Clone()
}

func (d serverService) Peer() sip.Message         { return d.InviteRequest }
func (d serverService) Laddr() sip.Addr           { return sip.Addr{} }
func (d serverService) UAS() bool                 { return true }
func (d serverService) InviteTx() sip.Transaction { return d.tx }

// Bye of a server dialog is the edge's own (byeOn): sipgo's waits for
// the ACK that the edge's 2xx handling (send2xx) consumed. It ends the
// dialog's INVITE transaction as sipgo's does.
func (d serverService) Bye(ctx context.Context) error {
	defer d.tx.Terminate()
	return byeOn(ctx, d, d.Target())
}

var (
	_ serviceDialog = clientService{}
	_ serviceDialog = serverService{}
)

// svc is the call's current service leg (a transfer or a Replaces
// replaces it), nil before the edge has sent its INVITE.
func (c *call) svc() serviceDialog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.legB
}

// setService makes d the call's service leg.
func (c *call) setService(d serviceDialog) {
	c.mu.Lock()
	c.legB = d
	c.mu.Unlock()
}

// adoptServiceLeg makes leg's dialog the call's leg B in the dialog cache
// (its dialog and peer known, the old leg's forgotten: a BYE of the old
// service crossing the edge's is answered 481).
func (c *call) adoptServiceLeg(old serviceDialog, leg *newLeg) {
	c.mu.Lock()
	oldPeer := c.peer
	c.legB, c.peer = leg.dlg, leg.peer
	c.mu.Unlock()
	switch ref, known := c.s.dialogs.leg(leg.dlg.DialogID()); {
	case known && ref.c == c: // indexed already (replaces.go: for its ACK)
	case leg.dlg.UAS():
		c.addServerLeg(leg.dlg.DialogID())
	default:
		c.addLeg(leg.dlg.DialogID(), media.LegB)
	}
	c.s.dialogs.addPeer(leg.peer)
	c.s.dialogs.dropLeg(old.DialogID(), c)
	c.s.dialogs.dropPeer(oldPeer)
}

// dropLeg forgets dialog id of call c.
func (d *dialogCache) dropLeg(id string, c *call) {
	d.mu.Lock()
	if ref, ok := d.legs[id]; ok && ref.c == c {
		delete(d.legs, id)
		if cid := dialogCallID(id); d.callIDs[cid] <= 1 {
			delete(d.callIDs, cid)
		} else {
			d.callIDs[cid]--
		}
	}
	d.mu.Unlock()
}

// byeOn sends BYE in dialog d to target and waits for its final answer
// (any: the dialog is over either way). Retransmissions are the client
// transaction's, until ctx ends.
func byeOn(ctx context.Context, d dialogLeg, target sip.Uri, hdrs ...sip.Header) error {
	bye := sip.NewRequest(sip.BYE, target)
	for _, h := range hdrs {
		bye.AppendHeader(h)
	}
	tx, err := d.TransactionRequest(ctx, bye)
	if err != nil {
		return err
	}
	defer tx.Terminate()
	_, err = finalResponse(ctx, tx)
	return err
}
