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
	e := newTestEdge(t)
	svc, target := startAgent(t, testScenario("svc_refer.xml"), "-key", "refer_to", "<sip:+13125550142@evil.example;user=phone>")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
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
		if strings.Contains(string(ev.Data), "+13125550142") {
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
	e.checkNoLeaks(t, ws)
}
