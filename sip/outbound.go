package sip

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// Agent-placed calls (design section 11). The control plane records the
// call ("dialing") and appends a dial request to the store's dial stream,
// which every edge reads through one consumer group: the edge that takes
// it checks it again against its tenant map (the from number is the
// workspace's, the destination within the trunk's allow-list), takes a
// slot under the workspace's limits, dials the callee through the
// workspace's outbound trunk (leg A, the edge its UAC) and on answer
// bridges it to the service (leg B) with the same X- headers as an inbound
// call plus X-Call-Direction. From then on it is an ordinary call: record,
// events, operators, hangup, timers.

// HeaderDirection tells the service the call's direction (inbound,
// outbound); HeaderCalleeAnswered when the callee of an outbound call
// answered (RFC 3339).
const (
	HeaderDirection      = "X-Call-Direction"
	HeaderCalleeAnswered = "X-Callee-Answered-At"
)

// dialExpiry is how old a dial request may be when an edge takes it.
const dialExpiry = 30 * time.Second

// dialLoop takes this node's share of dial requests until ctx ends.
func (s *Server) dialLoop(ctx context.Context) {
	if s.xfer.dials == nil {
		return
	}
	for ctx.Err() == nil {
		reqs, err := s.xfer.dials.ReadDials(ctx, s.cfg.NodeID, s.cfg.ControlWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.metrics.storeErrors.WithLabelValues("read_dials").Inc()
			sleep(ctx, time.Second)
			continue
		}
		for _, dr := range reqs {
			s.placeCall(dr)
		}
	}
}

// placeCall starts the call of a dial request, or records why not.
func (s *Server) placeCall(dr tenancy.DialRequest) {
	log := s.log.With("call_id", dr.CallID, "workspace_id", dr.WorkspaceID)
	rec := tenancy.CallRecord{
		ID: dr.CallID, WorkspaceID: dr.WorkspaceID, ServiceID: dr.ServiceID, From: dr.From, To: dr.To,
		State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: s.cfg.NodeID, Direction: tenancy.DirectionOutbound,
	}
	route, trunk, rej := s.outboundRoute(dr)
	if rej == nil && s.draining.Load() {
		rej = reject(ReasonDraining, "")
	}
	if rej == nil && time.Since(dr.RequestedAt) > dialExpiry {
		rej = reject(ReasonDialExpired, "")
	}
	if rej != nil {
		log.Info("dial refused", "reason", rej.Reason)
		s.refuseDial(rec, rej.Reason)
		return
	}
	sess, err := s.media.NewSession(rec.ID)
	if err != nil {
		s.refuseDial(rec, classify(err).Reason)
		return
	}
	started, err := callEvent(rec.ID, tenancy.EventCallStarted, map[string]any{
		"from": rec.From, "to": rec.To, "service_id": rec.ServiceID, "outbound_trunk_id": trunk.ID,
		"node_id": s.cfg.NodeID, "direction": tenancy.DirectionOutbound,
	})
	var token string
	if err == nil {
		token, err = s.admitCall(rec, route.Workspace.Limits, started)
	}
	if err != nil {
		_ = sess.Close()
		s.refuseDial(rec, classify(err).Reason)
		return
	}
	c := newCallState(s, nil, nil, &admission{route: route, identity: identity{caller: rec.From}}, rec, sess, media.Answer{}, media.Profile{})
	c.out = &outLeg{}
	c.token = token
	s.calls.Add(1)
	s.dialogs.addCall(c)
	s.metrics.activeCalls.Inc()
	go c.runOutbound(trunk)
}

// outboundRoute checks a dial request against the tenant map and returns
// the route of the call (Number is the callee; the service the one asked
// for) and the trunk to dial through.
func (s *Server) outboundRoute(dr tenancy.DialRequest) (*routing.Route, *tenancy.OutboundTrunk, *Rejection) {
	wm, ok := s.router.(workspaces)
	if !ok {
		return nil, nil, reject(ReasonNoOutboundTrunk, "")
	}
	ws, ok := wm.Workspace(dr.WorkspaceID)
	if !ok {
		return nil, nil, reject(ReasonNotFound, "")
	}
	if !ws.Active() {
		return nil, nil, reject(ReasonSuspended, "")
	}
	svc, ok := ws.Services[dr.ServiceID]
	if !ok {
		return nil, nil, reject(ReasonUnknownService, "")
	}
	if own, ok := s.router.Lookup(dr.From); !ok || own.Workspace.ID != ws.ID {
		return nil, nil, reject(ReasonFromNotOwned, "")
	}
	trunk, ok := ws.OutboundTrunk(dr.TrunkID)
	if !ok {
		return nil, nil, reject(ReasonNoOutboundTrunk, "")
	}
	if !trunk.Allows(dr.To) {
		return nil, nil, reject(ReasonNotAllowed, "")
	}
	r := &routing.Route{
		Number: dr.To, Version: ws.Version, Workspace: ws, Service: svc,
		VoiceSettings: ws.VoiceSettings, VoiceSettingsB64: ws.VoiceSettingsB64,
	}
	if len(dr.Voice) > 0 {
		var v tenancy.VoiceSettings
		if json.Unmarshal(dr.Voice, &v) == nil && v.Validate() == nil {
			if b, err := json.Marshal(v); err == nil {
				r.VoiceSettings, r.VoiceSettingsB64 = v, base64.RawURLEncoding.EncodeToString(b)
			}
		}
	}
	return r, trunk, nil
}

// refuseDial ends the record of a call that was never placed.
func (s *Server) refuseDial(rec tenancy.CallRecord, reason Reason) {
	now := time.Now().UTC()
	rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, string(reason)
	b, _ := json.Marshal(map[string]any{"reason": string(reason), "direction": tenancy.DirectionOutbound, "duration_ms": 0, "talk_ms": 0})
	s.writeEndEvent(rec, tenancy.Event{Type: tenancy.EventCallEnded, Time: now, CallID: rec.ID, Data: b}, "")
	s.xfer.met.outbound.WithLabelValues(outboundRefused).Inc()
}

// runOutbound dials the callee, then the service, and hands the call to
// its watch; on any failure the call ends with the reason.
func (c *call) runOutbound(trunk *tenancy.OutboundTrunk) {
	defer close(c.setupDone)
	_ = c.sess.Start(c.ctx) // the session closes when the call ends
	offer, err := c.s.sdpFor(c.sess, media.LegA, media.DefaultCodecs(), media.DefaultTelephoneEventPT, media.SendRecv, 20, c.sdpID, c.nextVersion(media.LegA), media.Profile{})
	if err != nil {
		c.end(classify(err).Reason)
		return
	}
	ringCtx, cancelRing := context.WithTimeoutCause(c.ctx, time.Duration(trunk.RingTimeoutSeconds())*time.Second, ErrNoAnswer)
	out, err := c.s.dialTrunk(ringCtx, pstnDial{
		ws: c.rec.WorkspaceID, trunk: trunk, caller: presentedNumber(trunk, c.rec.From), to: c.rec.To, sdp: offer, log: c.log,
		onProgress: func(res *sip.Response) { c.event(EventCallRinging, map[string]any{"status": res.StatusCode}) },
	})
	cancelRing()
	if err != nil {
		c.s.xfer.met.outbound.WithLabelValues(outboundResult(err)).Inc()
		c.log.Info("outbound call not connected", "error", err)
		c.end(dialReason(err))
		return
	}
	c.out.mu.Lock()
	c.out.dlg, c.out.gateway, c.out.answeredAt = out.dlg, out.gateway, time.Now().UTC()
	c.out.mu.Unlock()
	c.addLeg(out.dlg.ID, media.LegA)
	c.s.dialogs.addPeer(out.gateway)
	c.mu.Lock()
	c.aUp, c.confirmed, c.resumedAt = true, true, time.Now()
	c.mu.Unlock()
	if err := c.applyTrunkAnswer(out.res.Body()); err != nil {
		c.s.xfer.met.outbound.WithLabelValues(outboundFailed).Inc()
		c.cancel(err)
		c.hangup(err)
		return
	}
	calleeAt := c.out.answeredAt
	setupCtx, cancelSetup := context.WithTimeoutCause(c.ctx, c.s.cfg.NoAnswerTimeout, ErrNoAnswer)
	err = c.inviteService(setupCtx)
	cancelSetup()
	if err != nil {
		c.s.xfer.met.outbound.WithLabelValues(outboundFailed).Inc()
		c.log.Info("service of outbound call not connected", "error", err)
		c.cancel(err)
		c.hangup(err)
		return
	}
	now := time.Now().UTC()
	c.mu.Lock()
	c.rec.State, c.rec.AnsweredAt = tenancy.CallAnswered, &calleeAt
	rec := c.rec
	c.mu.Unlock()
	c.s.xfer.met.outbound.WithLabelValues(outboundAnswered).Inc()
	c.transition(rec, false, tenancy.EventCallAnswered, map[string]any{
		"setup_ms": now.Sub(c.start).Milliseconds(), "direction": tenancy.DirectionOutbound, "callee_answered_at": calleeAt,
	})
	c.watch() // timers.go
}

// EventCallRinging reports the callee of an outbound call ringing.
const EventCallRinging = "call.ringing"

// applyTrunkAnswer points leg A at the callee's SDP answer.
func (c *call) applyTrunkAnswer(body []byte) error {
	desc, err := media.ParseSDP(body)
	if err != nil {
		return err
	}
	ans, err := media.Negotiate(desc, nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ansA = ans
	c.mu.Unlock()
	c.setHeld(media.LegA, desc.OnHold())
	return c.sess.SetRemoteCodec(media.LegA, desc.RTPAddr(), ans.Codec, desc.TelephoneEventPT)
}

// directionHeaders are the headers beside serviceHeaders that tell the
// service an outbound call's direction and answer time; X-Voice-Settings
// is dropped from req if they would take the X- headers over their bound.
func (c *call) directionHeaders(req *sip.Request) []sip.Header {
	if c.out == nil {
		return nil
	}
	hs := []sip.Header{sip.NewHeader(HeaderDirection, tenancy.DirectionOutbound)}
	c.out.mu.Lock()
	if !c.out.answeredAt.IsZero() {
		hs = append(hs, sip.NewHeader(HeaderCalleeAnswered, c.out.answeredAt.Format(time.RFC3339Nano)))
	}
	c.out.mu.Unlock()
	var cur []sip.Header
	for _, h := range req.Headers() {
		if len(h.Name()) > 2 && (h.Name()[0] == 'X' || h.Name()[0] == 'x') && h.Name()[1] == '-' {
			cur = append(cur, h)
		}
	}
	if headersSize(append(cur, hs...)) > MaxServiceHeaders {
		req.RemoveHeader(HeaderVoiceSettings)
	}
	return hs
}
