package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262). Towards a trunk that
// supports or requires 100rel, the edge sends its 180 and 183 reliably:
// Require: 100rel and an RSeq, retransmitted at T1, doubling, until the
// trunk's PRACK (whose RAck names the RSeq, the INVITE's CSeq and INVITE)
// or 64*T1, when the INVITE is refused 500 (section 3). One reliable
// provisional is outstanding at a time; the next waits for its PRACK. A
// PRACK that matches no unacknowledged reliable provisional gets 481, a
// malformed RAck 400 "Bad RAck". Towards the service, the edge's INVITE
// carries Supported: 100rel and the edge PRACKs the service's reliable
// provisional responses (section 4), relaying each once.

// errNoPrack reports a reliable provisional response never PRACKed.
var errNoPrack = errors.New("reliable provisional response not acknowledged with PRACK")

// reliable is the 100rel state of leg A's INVITE transaction.
type reliable struct {
	mu      sync.Mutex
	next    uint32        // the RSeq of the next reliable provisional
	pending uint32        // RSeq awaiting its PRACK, 0 when none
	acked   chan struct{} // closed by the PRACK of pending
	cseq    uint32        // the INVITE's CSeq number
}

func newReliable(cseq uint32) *reliable {
	// RFC 3262 section 3: the first RSeq is random, 1 to 2**31-1.
	return &reliable{next: 1 + rand.Uint32N(1<<31-2), cseq: cseq}
}

// wantsReliable reports whether a trunk's INVITE supports or requires
// 100rel.
func wantsReliable(req *sip.Request) bool {
	return hasOptionTag(req, "Supported", "100rel") || hasOptionTag(req, "Require", "100rel")
}

// hasOptionTag reports whether a header (Supported, Require, ...) of msg
// lists tag.
func hasOptionTag(msg sip.Message, header, tag string) bool {
	for _, h := range msg.GetHeaders(header) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	// Compact forms (RFC 3261 section 7.3.3): k is Supported.
	if header == "Supported" {
		for _, h := range msg.GetHeaders("k") {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), tag) {
					return true
				}
			}
		}
	}
	return false
}

// respondReliably sends a provisional response to the trunk reliably and
// waits for its PRACK. Without it within 64*T1 the call ends (500).
func (c *call) respondReliably(code int, phrase string, body []byte) {
	r := c.rel
	r.mu.Lock()
	rseq := r.next
	r.next++
	r.pending = rseq
	acked := make(chan struct{})
	r.acked = acked
	r.mu.Unlock()

	res := sip.NewResponseFromRequest(c.a.InviteRequest, code, phrase, body)
	res.AppendHeader(sip.NewHeader("Require", "100rel"))
	res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	if body != nil {
		ct := sip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	if err := c.a.WriteResponse(res); err != nil {
		c.log.Debug("reliable provisional", "status", code, "error", err)
		return
	}
	interval := c.s.cfg.T1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	giveUp := time.NewTimer(64 * c.s.cfg.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-acked:
			return
		case <-retrans.C:
			// Over reliable transports too (RFC 3262 section 3: the
			// retransmission is the TU's, whatever the transport).
			if err := c.tx.Respond(res); err != nil {
				c.log.Debug("retransmit reliable provisional", "error", err)
			}
			interval *= 2
			retrans.Reset(interval)
		case <-giveUp.C:
			c.log.Info("no PRACK for a reliable provisional response", "status", code, "rseq", rseq)
			c.cancel(errNoPrack)
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// prack matches a PRACK's RAck with the outstanding reliable provisional.
func (r *reliable) prack(rseq, cseq uint32, method string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == 0 || rseq != r.pending || cseq != r.cseq || !strings.EqualFold(method, "INVITE") {
		return false
	}
	r.pending = 0
	close(r.acked)
	return true
}

// onPrack answers a PRACK (RFC 3262 section 3): 200 when its RAck
// acknowledges the trunk's outstanding reliable provisional response, 481
// otherwise, 400 "Bad RAck" when the RAck is malformed.
func (s *Server) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("PRACK").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	h := req.GetHeader("RAck")
	if h == nil {
		s.refuse(req, tx, reject(ReasonBadHeader, "RAck"))
		return
	}
	rseq, cseq, method, err := parseRAck(h.Value())
	if err != nil {
		s.refuse(req, tx, reject(ReasonBadHeader, "RAck"))
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok || ref.c.rel == nil || !ref.c.rel.prack(rseq, cseq, method) {
		s.noDialog(req, tx)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	s.decorate2xx(res, transportOf(req), false)
	_ = tx.Respond(res)
}

// parseRSeq parses an RSeq value (RFC 3262 section 7.1): 1 to 2**32-1.
func parseRSeq(v string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad RSeq %q", v)
	}
	return uint32(n), nil
}

// parseRAck parses an RAck value (RFC 3262 section 7.2): response-num
// LWS CSeq-num LWS Method.
func parseRAck(v string) (rseq, cseq uint32, method string, err error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", fmt.Errorf("bad RAck %q", v)
	}
	if rseq, err = parseRSeq(f[0]); err != nil {
		return 0, 0, "", fmt.Errorf("bad RAck %q", v)
	}
	n, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil || n >= 1<<31 {
		return 0, 0, "", fmt.Errorf("bad RAck %q", v)
	}
	for i := 0; i < len(f[2]); i++ {
		if !isTokenChar(f[2][i]) {
			return 0, 0, "", fmt.Errorf("bad RAck %q", v)
		}
	}
	return rseq, uint32(n), f[2], nil
}

// prackService acknowledges a reliable provisional response of the
// service (RFC 3262 section 4) in its early dialog. It reports whether the
// response is new (not a retransmission), i.e. to be relayed.
func (c *call) prackService(res *sip.Response) bool {
	h := res.GetHeader("RSeq")
	if h == nil || !hasOptionTag(res, "Require", "100rel") {
		return true
	}
	rseq, err := parseRSeq(h.Value())
	if err != nil {
		c.log.Debug("service sent a bad RSeq", "value", h.Value())
		return false
	}
	c.mu.Lock()
	if rseq <= c.serviceRSeq && c.serviceRSeq != 0 {
		c.mu.Unlock()
		return false
	}
	c.serviceRSeq = rseq
	c.mu.Unlock()
	target := c.b.InviteRequest.Recipient
	if ct := res.Contact(); ct != nil {
		target = ct.Address
	}
	prack := sip.NewRequest(sip.PRACK, target)
	prack.AppendHeader(sip.NewHeader("RAck", fmt.Sprintf("%d %d INVITE", rseq, c.b.InviteRequest.CSeq().SeqNo)))
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.ReinviteTimeout)
	tx, err := c.b.TransactionRequest(ctx, prack)
	if err != nil {
		cancel()
		c.log.Debug("prack service", "error", err)
		return true
	}
	go func() {
		defer cancel()
		defer tx.Terminate()
		for {
			select {
			case r := <-tx.Responses():
				if r.IsProvisional() {
					continue
				}
				return
			case <-tx.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return true
}

// ackService acknowledges the service's 2xx after a PRACK: sipgo's ACK
// takes the dialog's last CSeq (the PRACK's), while an ACK has the
// INVITE's (RFC 3261 section 13.2.2.4), so the edge builds it.
func (c *call) ackService() error {
	inv, res := c.b.InviteRequest, c.b.InviteResponse
	target := inv.Recipient
	if ct := res.Contact(); ct != nil {
		target = ct.Address
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	maxFwd := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&maxFwd)
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		ack.AppendHeader(sip.NewHeader("Route", rrs[i].Value()))
	}
	ack.SetTransport(inv.Transport())
	ack.Laddr = inv.Laddr
	ack.SetBody(nil)
	return c.s.client.WriteRequest(ack)
}

// pracked reports whether the edge PRACKed a provisional of the service.
func (c *call) pracked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serviceRSeq != 0
}
