package sip

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// startAgent runs a SIPp service on 127.0.0.2 without RTP echo and returns
// its target URI.
func startAgent(t *testing.T, scenario string, extra ...string) (*sippProc, string) {
	t.Helper()
	p, port := startPeer(t, scenario, "127.0.0.2", extra...)
	return p, fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port)
}

// setTransferPolicy writes ws's operator config with transfer targets.
func (e *testEdge) setTransferPolicy(t *testing.T, ws string, targets ...map[string]any) {
	t.Helper()
	esc, _ := json.Marshal(map[string]any{"transfer_targets": targets})
	oc := &tenancy.OperatorConfig{Modes: []string{"listen"}, Escalation: esc}
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, ws, tenancy.KindOperatorConfig, oc, tenancy.Upsert); err != nil {
		t.Fatalf("put operator config: %v", err)
	}
	waitFor(t, 5*time.Second, "transfer policy in the map", func() bool {
		v, ok := e.routes.Workspace(ws)
		return ok && string(v.OperatorConfig.Escalation) == string(esc)
	})
}

func noAuthTrunk(gws ...tenancy.Gateway) *tenancy.OutboundTrunk {
	ot := gatewayTrunk(gws...)
	ot.Username, ot.Password = "", ""
	return ot
}

// TestBlindTransferToPSTN: the service REFERs the caller to a PSTN number
// its policy allows; the edge dials it through the workspace's outbound
// trunk, NOTIFYs 100, 180, 200, bridges the caller to it and ends the
// service leg. The target echoes what it hears and the service sends
// nothing, so RTP back on leg B is the caller's audio that reached the
// target.
func TestBlindTransferToPSTN(t *testing.T) {
	cases := []struct{ name, number string }{
		{"pstn number", "+13125550142"},
		// A number workspace B owns is, for A, an ordinary PSTN number:
		// dialled out through A's own trunk, never delivered into B.
		{"number of workspace B", "+13125550199"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testBlindTransferToPSTN(t, tc.number) })
	}
}

func testBlindTransferToPSTN(t *testing.T, number string) {
	e := newTestEdge(t)
	svc, target := startAgent(t, testScenario("svc_refer.xml"), "-key", "refer_to", "<sip:"+number+"@evil.example;user=phone>")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	b := e.addWorkspace(t, wsSpec{name: "B", number: "+13125550199", cidr: "127.0.0.9/32", target: "sip:agent@127.0.0.3:5999"})
	callee, port := startPeer(t, testScenario("pstn_echo.xml"), "127.0.0.4", "-rtp_echo")
	e.addOutboundTrunk(t, ws, noAuthTrunk(tenancy.Gateway{Host: "127.0.0.4", Port: port}))
	e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1312"}, "outbound_trunk_id": "carrier-out"})

	uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "4000")
	for name, p := range map[string]*sippProc{"trunk": uac, "service": svc, "target": callee} {
		if code, logs := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
		}
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason %v", d["reason"])
	}
	pk, _ := d["packets"].(map[string]any)
	if n, _ := pk["b_received"].(float64); n < 50 {
		t.Errorf("b_received %v: the caller's audio did not come back from the target: %v", n, pk)
	}
	if n, _ := pk["a_sent"].(float64); n < 50 {
		t.Errorf("a_sent %v: the caller heard nothing of the target", n)
	}
	var types []string
	for _, ev := range e.callEvents(t, ws) {
		types = append(types, ev.Type)
		if strings.Contains(string(ev.Data), number) {
			t.Errorf("event %s carries the target's digits: %s", ev.Type, ev.Data)
		}
		if ev.Type == EventTransferred && !strings.Contains(string(ev.Data), `"prefix":"+1312"`) {
			t.Errorf("transferred %s", ev.Data)
		}
	}
	want := []string{tenancy.EventCallStarted, tenancy.EventCallAnswered, EventTransferRequested, EventTransferred, tenancy.EventCallEnded}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", types, want)
	}
	if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "transferred"}); n != 1 {
		t.Errorf("transfers transferred = %v", n)
	}
	if evs := e.callEvents(t, b); len(evs) != 0 {
		t.Errorf("B got events %v", evs)
	}
	e.checkNoLeaks(t, ws, b)
}

// TestBlindTransferToService: the service REFERs the caller to another
// service of its workspace that the policy lists; the new service gets the
// call's X- headers with its own service id and X-Transferred-From, and
// the caller's audio (echoed by it) flows.
func TestBlindTransferToService(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, testScenario("svc_refer.xml"), "-key", "refer_to", "<sip:nurse@127.0.0.1;target=service>")
	nurse, nursePort := startPeer(t, "uas_answer.xml", "127.0.0.3", "-rtp_echo")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, ws, tenancy.KindService,
		&tenancy.Service{ID: "nurse", Name: "Nurse line", Target: fmt.Sprintf("sip:nurse@127.0.0.3:%d;transport=udp", nursePort)}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	e.setTransferPolicy(t, ws, map[string]any{"kind": "service", "service_id": "nurse"})
	uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "4000")
	for name, p := range map[string]*sippProc{"trunk": uac, "service": svc, "nurse": nurse} {
		if code, logs := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
		}
	}
	d := e.waitEnded(t, ws, 1)[0]
	pk, _ := d["packets"].(map[string]any)
	if n, _ := pk["b_received"].(float64); n < 50 {
		t.Errorf("b_received %v: the caller's audio did not reach the new service: %v", n, pk)
	}
	found := false
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == EventTransferred && strings.Contains(string(ev.Data), `"service_id":"nurse"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no call.transferred to the nurse service: %v", e.callEvents(t, ws))
	}
	e.checkNoLeaks(t, ws)
}

// TestBlindTransferPassedToTrunk: the caller's trunk accepts REFER: the
// edge passes the service's REFER to it (tel: Refer-To, nothing of the
// service side), NOTIFYs the service 200 when the carrier accepts, and the
// call ends when the carrier hangs its leg up.
func TestBlindTransferPassedToTrunk(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, testScenario("svc_refer_trunk.xml"), "-key", "refer_to", "<tel:+13125550142>")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, ws, tenancy.KindTrunk,
		&tenancy.Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{"127.0.0.1/32"}, AcceptsRefer: true}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "accepts_refer in the map", func() bool {
		v, ok := e.routes.Workspace(ws)
		return ok && len(v.Trunks) == 1 && v.Trunks[0].AcceptsRefer
	})
	gwPort, gwGot := silentGateway(t, "127.0.0.5")
	e.addOutboundTrunk(t, ws, noAuthTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort}))
	e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1312"}, "outbound_trunk_id": "carrier-out"})
	uac := e.trunkCall(t, testScenario("uac_accepts_refer.xml"), "+13125550100")
	for name, p := range map[string]*sippProc{"trunk": uac, "service": svc} {
		if code, logs := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
		}
	}
	if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason %v", d["reason"])
	}
	if n := gwGot.Load(); n != 0 {
		t.Errorf("the outbound gateway got %d datagrams: the edge dialled itself", n)
	}
	if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "passed_to_trunk"}); n != 1 {
		t.Errorf("transfers passed_to_trunk = %v", n)
	}
	e.checkNoLeaks(t, ws)
}
