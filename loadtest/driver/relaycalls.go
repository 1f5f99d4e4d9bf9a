package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// relayCalls are N calls set up through one relay, each with its caller's
// RTP leg pointed at the relay; hangup ends them.
type relayCalls struct {
	legs   []*rtpLeg
	hangup func(context.Context)
}

// relaySetup sets up one call whose caller streams from leg; it points
// leg.dst at the relay and returns how to end the call.
type relaySetup func(ctx context.Context, i int, leg *rtpLeg) (end func(context.Context), err error)

// openRelayCalls sets up n calls, 8 at a time (bounded: one minute for
// all), all or none.
func openRelayCalls(ctx context.Context, n int, r *runner, setup relaySetup) (*relayCalls, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rc := &relayCalls{}
	ends := make([]func(context.Context), n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		l, err := newRTPLeg(r.o.UACIPs[0], uint32(0x10000+i))
		if err != nil {
			closeLegs(rc.legs)
			return nil, err
		}
		rc.legs = append(rc.legs, l)
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ends[i], errs[i] = setup(ctx, i, rc.legs[i])
		}()
	}
	wg.Wait()
	rc.hangup = func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, end := range ends {
			if end == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() { defer func() { <-sem; wg.Done() }(); end(ctx) }()
		}
		wg.Wait()
		closeLegs(rc.legs)
	}
	for i, err := range errs {
		if err != nil {
			rc.hangup(context.Background())
			return nil, fmt.Errorf("call %d of %d: %w", i+1, n, err)
		}
	}
	return rc, nil
}

// number is the i-th number of the injection order (workspaces
// interleaved).
func (r *runner) number(i int) string {
	w := r.wss[i%len(r.wss)]
	return w.numbers[(i/len(r.wss))%len(w.numbers)]
}

// edgeSetup calls through the edge (sipgo as the trunk, from the first
// load generator address) to the workspace's SIPp service, which echoes.
func (r *runner) edgeSetup(client *sipgo.Client) relaySetup {
	src := r.o.UACIPs[0].String()
	dua := sipgo.DialogUA{Client: client, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "relay", Host: src}}}
	return func(ctx context.Context, i int, leg *rtpLeg) (func(context.Context), error) {
		ct := sip.ContentTypeHeader("application/sdp")
		to := sip.Uri{Scheme: "sip", User: r.number(i), Host: r.s.sipAddr.Addr().String(), Port: int(r.s.sipAddr.Port())}
		dlg, err := dua.Invite(ctx, to, []byte(pcmuSDP(r.o.UACIPs[0], leg.port())), &ct)
		if err != nil {
			return nil, fmt.Errorf("invite %s: %w", to.User, err)
		}
		if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			dlg.Close()
			return nil, fmt.Errorf("invite %s: %w", to.User, err)
		}
		if err := dlg.Ack(ctx); err != nil {
			dlg.Close()
			return nil, err
		}
		end := func(ctx context.Context) {
			bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = dlg.Bye(bctx)
			dlg.Close()
		}
		if leg.dst, err = sdpAudioAddr(string(dlg.InviteResponse.Body())); err != nil {
			end(ctx)
			return nil, err
		}
		return end, nil
	}
}

// rtpengineSetup sets up the call in rtpengine over ng: offer with the
// caller's SDP, answer with the SIPp service's echo address as the
// callee's; the caller streams to the address of rtpengine's answer.
func (r *runner) rtpengineSetup(ng *ngClient) relaySetup {
	return func(ctx context.Context, i int, leg *rtpLeg) (func(context.Context), error) {
		callID := fmt.Sprintf("relay-%d-%s", i, randomToken()[:8])
		if _, err := ng.offer(ctx, callID, "caller", pcmuSDP(r.o.UACIPs[0], leg.port())); err != nil {
			return nil, err
		}
		svc := r.s.services[i%len(r.s.services)]
		end := func(ctx context.Context) { _ = ng.delete(ctx, callID, "caller") }
		sdp, err := ng.answer(ctx, callID, "caller", "callee", pcmuSDP(svc.addr.Addr(), svc.rtp))
		if err != nil {
			end(ctx)
			return nil, err
		}
		if leg.dst, err = sdpAudioAddr(sdp); err != nil {
			end(ctx)
			return nil, err
		}
		return end, nil
	}
}
