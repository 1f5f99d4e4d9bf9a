package sip

import (
	"context"
	"crypto/subtle"
	"net/netip"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// Warm transfer by the service (INVITE with Replaces, RFC 3891): the
// workspace's service, having brought a third party in on its side,
// hands it the caller by having it (or itself) send the edge an INVITE
// whose Replaces header names the service's own confirmed dialog with the
// edge, leg B of a live call. The edge answers it as it answers any
// service leg (the offer negotiated under leg B's settings, the relay
// re-pointed at the new party's SDP, strict latching), takes the new
// dialog as leg B (the edge is its UAS: leg B can be either kind of
// dialog, service_dialog.go), sends BYE to the old leg B, and the call
// goes on with the same call id, record and metrics; call.transferred
// with kind "replaces" goes into the workspace's stream and
// edge_sip_transfers_total counts result "replaced".
//
// Refusals, after which nothing has changed: a malformed Replaces (more
// than one, no Call-ID, missing or repeated to-tag or from-tag) 400; a
// Replaces naming anything but leg B of a live answered call (another
// call's or workspace's dialog, the trunk's leg, an unknown or ended
// dialog, a call not yet answered), or sent by anyone but that call's
// service, 481 (RFC 3891 section 3); early-only for a confirmed dialog
// 486; another transfer of the call in progress 491; an INVITE without
// an SDP offer 488. The sender is the call's service when the INVITE
// comes from the address leg B's peer answered from or from the host of
// the service's target, or when it carries the call's X-Edge-Call-Token.
// Require: replaces is accepted on such INVITEs (conformance.go) and
// nowhere else.

// Result of edge_sip_transfers_total for a replaced service leg.
const transferReplaced = "replaced"

// TransferKindReplaces is data.kind of call.transferred for a Replaces.
const TransferKindReplaces = "replaces"

// onReplaces takes an initial INVITE with a Replaces header.
func (s *Server) onReplaces(req *sip.Request, tx sip.ServerTransaction) {
	refuse := func(rej *Rejection) {
		s.xfer.met.transfers.WithLabelValues(transferRefused).Inc()
		s.refuse(req, tx, rej)
	}
	h, detail := parseReplaces(req)
	if detail != "" {
		refuse(reject(ReasonMalformed, detail))
		return
	}
	c, ok := s.replacedCall(h)
	if !ok || !c.sentByService(req) {
		refuse(reject(ReasonNoDialog, "Replaces"))
		return
	}
	if h.earlyOnly {
		refuse(reject(ReasonEarlyOnly, "")) // the dialog is confirmed (RFC 3891 section 3)
		return
	}
	if len(req.Body()) == 0 {
		refuse(reject(ReasonNotAcceptable, "Replaces without an SDP offer"))
		return
	}
	st := s.xfer.transferOf(c.id)
	switch st.begin() {
	case beginBusy:
		refuse(reject(ReasonRequestPending, ""))
		return
	case beginExhausted:
		refuse(reject(ReasonTransferLimit, ""))
		return
	}
	defer st.done()
	if err := tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil)); err != nil {
		return
	}
	if rej := c.replaceService(req, tx); rej != nil {
		refuse(rej)
	}
}

// replacedCall finds the live answered call whose leg B is the dialog h
// names.
func (s *Server) replacedCall(h replacesHeader) (*call, bool) {
	client, server := h.dialogIDs()
	for _, try := range []struct {
		id  string
		uas bool
	}{{client, false}, {server, true}} {
		ref, ok := s.dialogs.leg(try.id)
		if ok && ref.leg == media.LegB && ref.uas == try.uas && ref.c.ctx.Err() == nil && ref.c.answered() {
			if d := ref.c.svc(); d != nil && d.DialogID() == try.id {
				return ref.c, true
			}
		}
	}
	return nil, false
}

// sentByService reports whether req comes from the call's service: from
// leg B's peer or the host of the service's target, or with the call's
// token.
func (c *call) sentByService(req *sip.Request) bool {
	if h := req.GetHeader(HeaderCallToken); h != nil && c.token != "" {
		if subtle.ConstantTimeCompare([]byte(h.Value()), []byte(c.token)) == 1 {
			return true
		}
	}
	ip := sourceIP(req)
	if !ip.IsValid() {
		return false
	}
	c.mu.Lock()
	peer := c.peer
	c.mu.Unlock()
	if peer.IsValid() && peer.Unmap() == ip {
		return true
	}
	if c.route != nil && c.route.Service != nil {
		if host, err := netip.ParseAddr(c.route.Service.Target.Host); err == nil && host.Unmap() == ip {
			return true
		}
	}
	return false
}

// replaceService answers the replacing INVITE, makes its dialog leg B and
// ends the old one. A refusal before the answer leaves the call as it was.
func (c *call) replaceService(req *sip.Request, tx sip.ServerTransaction) *Rejection {
	offer, ans, rej := c.readOffer(media.LegB, req)
	if rej != nil {
		return rej
	}
	if !c.lockOffer(media.LegB) {
		return c.pending(media.LegB)
	}
	defer c.unlockOffer(media.LegB)
	old := c.svc()
	start := time.Now()
	ua := &sipgo.DialogUA{Client: c.s.client, ContactHDR: c.s.contact(transportOf(req)), RewriteContact: true}
	dlg, err := ua.ReadInvite(req, tx)
	if err != nil {
		return reject(ReasonMalformed, "INVITE")
	}
	if err := c.applyOffer(media.LegB, offer, ans); err != nil {
		return classify(err)
	}
	body, err := c.answerFor(media.LegB, ans, ans.Direction)
	if err != nil {
		return classify(err)
	}
	res := sip.NewResponseFromRequest(dlg.InviteRequest, 200, "OK", body)
	c.s.decorate2xx(res, transportOf(req), true)
	dlg.InviteResponse = res
	leg := &newLeg{dlg: serverService{dlg, tx}, peer: sourceIP(req)}
	c.addServerLeg(dlg.ID) // its ACK finds the call
	if _, err := c.send2xx(tx, res, media.LegB); err != nil {
		// The relay follows the new party already: the call cannot go
		// back to the old leg as it was.
		c.log.Info("replacing service leg did not acknowledge", "error", err)
		c.s.dialogs.dropLeg(dlg.ID, c)
		c.terminate(errNoAck)
		return nil
	}
	c.adoptServiceLeg(old, leg)
	c.serviceRefreshedByEdge()
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
	if err := old.Bye(ctx); err != nil {
		c.log.Debug("bye replaced service leg", "error", err)
	}
	cancel()
	c.event(EventTransferred, map[string]any{"kind": TransferKindReplaces, "setup_ms": time.Since(start).Milliseconds()})
	c.s.xfer.met.transfers.WithLabelValues(transferReplaced).Inc()
	c.log.Info("service leg replaced", "kind", TransferKindReplaces)
	return nil
}

// serviceRefreshedByEdge makes the edge leg B's session refresher: the
// party that replaced the service leg negotiated no session timer.
func (c *call) serviceRefreshedByEdge() {
	t := c.timers[media.LegB]
	if t == nil {
		return
	}
	t.mu.Lock()
	t.edge = true
	t.mu.Unlock()
	t.touch()
}
