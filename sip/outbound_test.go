package sip

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

// testScenario is the path of a scenario of sip/testdata/sipp as
// startSipp takes it (relative to loadtest/sipp).
func testScenario(name string) string { return "../../sip/testdata/sipp/" + name }

// startPeer runs a SIPp UAS on ip (a PSTN gateway) and returns its port.
func startPeer(t *testing.T, scenario, ip string, extra ...string) (*sippProc, int) {
	t.Helper()
	port := freeUDPPort(t, ip)
	mport := edgeproc.SIPpMediaPort(t, ip, fmt.Sprint(port))
	args := append([]string{"-i", ip, "-p", fmt.Sprint(port), "-mp", mport}, extra...)
	return startSipp(t, scenario, args...), port
}

// silentGateway is a UDP socket that reads and never answers: a gateway
// that is down. It counts the datagrams it got.
func silentGateway(t *testing.T, ip string) (int, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).Port, &n
}

// addOutboundTrunk gives ws an outbound trunk and waits for the map.
func (e *testEdge) addOutboundTrunk(t *testing.T, ws string, ot *tenancy.OutboundTrunk) {
	t.Helper()
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, ws, tenancy.KindOutboundTrunk, ot, tenancy.Upsert); err != nil {
		t.Fatalf("put outbound trunk: %v", err)
	}
	waitFor(t, 5*time.Second, "outbound trunk in the map", func() bool {
		v, ok := e.routes.Workspace(ws)
		if !ok {
			return false
		}
		got, ok := v.OutboundTrunk(ot.ID)
		return ok && got.Name == ot.Name
	})
}

// requestDial queues a dial request as the control plane does.
func (e *testEdge) requestDial(t *testing.T, ws, from, to, trunk string) string {
	t.Helper()
	id := newCallID()
	now := time.Now().UTC()
	rec := tenancy.CallRecord{ID: id, WorkspaceID: ws, ServiceID: "agent", From: from, To: to, State: tenancy.CallDialing,
		StartedAt: now, Direction: tenancy.DirectionOutbound}
	dr := tenancy.DialRequest{WorkspaceID: ws, CallID: id, From: from, To: to, ServiceID: "agent", TrunkID: trunk, RequestedAt: now}
	if err := e.store.RequestDial(context.Background(), rec, dr); err != nil {
		t.Fatalf("request dial: %v", err)
	}
	return id
}

func gatewayTrunk(gws ...tenancy.Gateway) *tenancy.OutboundTrunk {
	return &tenancy.OutboundTrunk{
		ID: "carrier-out", Name: "Termination", Gateways: gws, Username: "clinic-01", Password: "carrier-secret-1",
		CallerID: tenancy.CallerIDPolicy{Mode: tenancy.CallerIDOwnNumbers}, MaxCPS: 5, AllowedPrefixes: []string{"+1312"},
		RingTimeout: 20,
	}
}

// TestOutboundCallFailover places an agent call: the first gateway never
// answers, the second answers 503, the third challenges, then rings and
// answers; the callee's tone reaches the service (which echoes it back),
// the service hangs up, and record, events and metrics tell it all.
func TestOutboundCallFailover(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, testScenario("svc_outbound.xml"), "-d", "1500")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	silentPort, silentGot := silentGateway(t, "127.0.0.5")
	_, busyPort := startPeer(t, "uas_5xx.xml", "127.0.0.3")
	callee, calleePort := startPeer(t, testScenario("pstn_auth_answer.xml"), "127.0.0.4")
	e.addOutboundTrunk(t, ws, gatewayTrunk(
		tenancy.Gateway{Host: "127.0.0.4", Port: calleePort, Priority: 30, Weight: 1},
		tenancy.Gateway{Host: "127.0.0.5", Port: silentPort, Priority: 10, Weight: 1},
		tenancy.Gateway{Host: "127.0.0.3", Port: busyPort, Priority: 20, Weight: 1},
	))
	id := e.requestDial(t, ws, "+13125550100", "+13125550142", "carrier-out")

	if code, logs := callee.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("callee sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if silentGot.Load() == 0 {
		t.Errorf("the silent gateway (priority 10) was never tried")
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonServiceHangup) {
		t.Errorf("reason %v, want service_hangup: %v", d["reason"], d)
	}
	pk, _ := d["packets"].(map[string]any)
	for _, k := range []string{"a_received", "b_received", "a_sent", "b_sent"} {
		if n, _ := pk[k].(float64); n < 10 {
			t.Errorf("packets %s = %v, want the callee's audio through the service and back: %v", k, pk[k], pk)
		}
	}
	var types []string
	for _, ev := range e.callEvents(t, ws) {
		types = append(types, ev.Type)
	}
	want := []string{tenancy.EventCallStarted, EventCallRinging, tenancy.EventCallAnswered, tenancy.EventCallEnded}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", types, want)
	}
	rec, err := e.store.GetCall(context.Background(), ws, id)
	if err != nil || rec.Direction != tenancy.DirectionOutbound || rec.State != tenancy.CallEnded || rec.AnsweredAt == nil || rec.NodeID != "node-test" {
		t.Errorf("record %+v %v", rec, err)
	}
	if n := e.counter(t, "edge_sip_outbound_calls_total", map[string]string{"result": "answered"}); n != 1 {
		t.Errorf("outbound answered = %v", n)
	}
	e.checkNoLeaks(t, ws)
}

// TestOutboundCallNoFailoverOnBusy: a 486 is the callee's answer: the next
// gateway is never tried and the call ends busy, the service never dialled.
func TestOutboundCallNoFailoverOnBusy(t *testing.T) {
	e := newTestEdge(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:9;transport=udp"})
	busy, busyPort := startPeer(t, "uas_busy.xml", "127.0.0.3")
	nextPort, nextGot := silentGateway(t, "127.0.0.5")
	e.addOutboundTrunk(t, ws, gatewayTrunk(
		tenancy.Gateway{Host: "127.0.0.3", Port: busyPort, Priority: 10},
		tenancy.Gateway{Host: "127.0.0.5", Port: nextPort, Priority: 20},
	))
	e.requestDial(t, ws, "+13125550100", "+13125550142", "carrier-out")
	if code, logs := busy.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("busy sipp exit %d\n%s", code, logs)
	}
	if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonCalleeBusy) {
		t.Errorf("reason %v, want busy", d["reason"])
	}
	time.Sleep(200 * time.Millisecond)
	if n := nextGot.Load(); n != 0 {
		t.Errorf("the next gateway got %d datagrams after a 486", n)
	}
	if n := e.counter(t, "edge_sip_outbound_calls_total", map[string]string{"result": "busy"}); n != 1 {
		t.Errorf("outbound busy = %v", n)
	}
	e.checkNoLeaks(t, ws)
}

// TestOutboundCallRefusedAtEdge: the edge checks each dial request again
// against its own map: a from of another workspace, a destination outside
// the allow-list, another workspace's trunk: nothing is dialled, the call
// ends with the reason.
func TestOutboundCallRefusedAtEdge(t *testing.T) {
	e := newTestEdge(t)
	a := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:9;transport=udp"})
	b := e.addWorkspace(t, wsSpec{name: "B", number: "+13125550199", cidr: "127.0.0.9/32", target: "sip:agent@127.0.0.2:9;transport=udp"})
	gwPort, gwGot := silentGateway(t, "127.0.0.5")
	e.addOutboundTrunk(t, a, gatewayTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort}))
	bt := gatewayTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort})
	bt.ID, bt.Name = "b-trunk", "B trunk"
	e.addOutboundTrunk(t, b, bt)
	cases := []struct {
		name, from, to, trunk string
		reason                Reason
	}{
		{"from of B", "+13125550199", "+13125550142", "carrier-out", ReasonFromNotOwned},
		{"outside the allow-list", "+13125550100", "+442071234567", "carrier-out", ReasonNotAllowed},
		{"B's trunk", "+13125550100", "+13125550142", "b-trunk", ReasonNoOutboundTrunk},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.requestDial(t, a, tc.from, tc.to, tc.trunk)
			if d := e.waitEnded(t, a, i+1)[i]; d["reason"] != string(tc.reason) {
				t.Errorf("reason %v, want %s", d["reason"], tc.reason)
			}
		})
	}
	if n := gwGot.Load(); n != 0 {
		t.Errorf("the gateway got %d datagrams", n)
	}
	if evs := e.callEvents(t, b); len(evs) != 0 {
		t.Errorf("B got events %v", evs)
	}
	e.checkNoLeaks(t, a, b)
}

// TestOutboundCallCanceled: a callee that rings and never answers is
// CANCELled at the trunk's ring timeout (no_answer), or when the control
// plane hangs the call up while it rings (hangup_requested).
func TestOutboundCallCanceled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hangup bool
		reason Reason
		result string
	}{
		{"ring timeout", false, ReasonNoAnswer, "no_answer"},
		{"hangup while ringing", true, ReasonHangupRequested, "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:9;transport=udp"})
			ringing, port := startPeer(t, "uas_noanswer.xml", "127.0.0.4")
			ot := noAuthTrunk(tenancy.Gateway{Host: "127.0.0.4", Port: port})
			ot.RingTimeout = 2
			if tc.hangup {
				ot.RingTimeout = 30
			}
			e.addOutboundTrunk(t, ws, ot)
			id := e.requestDial(t, ws, "+13125550100", "+13125550142", "carrier-out")
			if tc.hangup {
				waitFor(t, 5*time.Second, "ringing", func() bool {
					for _, ev := range e.callEvents(t, ws) {
						if ev.Type == EventCallRinging {
							return true
						}
					}
					return false
				})
				if err := e.store.RequestHangup(context.Background(), ws, id, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if code, logs := ringing.wait(t, 20*time.Second); code != 0 {
				t.Fatalf("callee sipp exit %d\n%s", code, logs)
			}
			if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(tc.reason) {
				t.Errorf("reason %v, want %s", d["reason"], tc.reason)
			}
			if n := e.counter(t, "edge_sip_outbound_calls_total", map[string]string{"result": tc.result}); n != 1 {
				t.Errorf("outbound %s = %v", tc.result, n)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}
