package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestTransferRefused: targets outside the policy are refused with NOTIFY
// 403 and nothing is dialled; A's service never reaches B's services; the
// caller stays with the agent.
func TestTransferRefused(t *testing.T) {
	cases := []struct {
		name, referTo string
		bTrunk        bool // the policy names B's outbound trunk
	}{
		{"number outside the prefixes", "<sip:+442071234567@127.0.0.1;user=phone>", false},
		{"premium-rate number", "<tel:+19005550100>", false},
		{"service of workspace B", "<sip:b-agent@127.0.0.1;target=service>", false},
		{"operators not in the policy", "<sip:operators@127.0.0.1;target=operators>", false},
		{"outbound trunk of workspace B", "<tel:+13125550142>", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			svc, target := startAgent(t, testScenario("svc_refer_refused.xml"), "-key", "refer_to", tc.referTo)
			ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
			b := e.addWorkspace(t, wsSpec{name: "B", number: "+13125550199", cidr: "127.0.0.9/32", target: "sip:b-agent@127.0.0.3:5999"})
			gwPort, gwGot := silentGateway(t, "127.0.0.5")
			ot := noAuthTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort})
			ot.AllowedPrefixes = []string{"+1"}
			e.addOutboundTrunk(t, ws, ot)
			trunkID := "carrier-out"
			if tc.bTrunk {
				bt := noAuthTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort})
				bt.ID, bt.Name, bt.AllowedPrefixes = "b-trunk", "B trunk", []string{"+1"}
				e.addOutboundTrunk(t, b, bt)
				trunkID = "b-trunk"
			}
			e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1"}, "outbound_trunk_id": trunkID},
				map[string]any{"kind": "service", "service_id": "b-agent"}) // names B's service: still not A's
			uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "2500")
			for name, p := range map[string]*sippProc{"trunk": uac, "service": svc} {
				if code, logs := p.wait(t, 30*time.Second); code != 0 {
					t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
				}
			}
			if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonTrunkHangup) {
				t.Errorf("reason %v: the caller did not stay with the agent", d["reason"])
			}
			if n := gwGot.Load(); n != 0 {
				t.Errorf("the gateway got %d datagrams", n)
			}
			var failed string
			for _, ev := range e.callEvents(t, ws) {
				if ev.Type == EventTransferFailed {
					failed = string(ev.Data)
				}
			}
			if !strings.Contains(failed, string(ReasonNotAllowed)) {
				t.Errorf("transfer_failed %q", failed)
			}
			if evs := e.callEvents(t, b); len(evs) != 0 {
				t.Errorf("B got events %v", evs)
			}
			if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "refused"}); n != 1 {
				t.Errorf("transfers refused = %v", n)
			}
			e.checkNoLeaks(t, ws, b)
		})
	}
}

// TestTransferBadRefer: malformed Refer-To, an arbitrary SIP URI, numbers
// with letters or too many digits, another scheme: 400 each, nothing
// dialled; then a flood of REFERs in one call: 491 while one is in
// progress.
func TestTransferBadRefer(t *testing.T) {
	t.Run("malformed", func(t *testing.T) {
		e := newTestEdge(t)
		svc, target := startAgent(t, testScenario("svc_refer_bad.xml"))
		ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
		e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1"}, "outbound_trunk_id": "carrier-out"})
		uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "2500")
		for name, p := range map[string]*sippProc{"trunk": uac, "service": svc} {
			if code, logs := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
			}
		}
		for _, ev := range e.callEvents(t, ws) {
			if strings.HasPrefix(ev.Type, "call.transfer") {
				t.Errorf("event %s for a malformed REFER", ev.Type)
			}
		}
		e.checkNoLeaks(t, ws)
	})
	t.Run("flood", func(t *testing.T) {
		e := newTestEdge(t)
		svc, target := startAgent(t, testScenario("svc_refer_flood.xml"), "-key", "refer_to", "<tel:+13125550142>")
		ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
		gwPort, gwGot := silentGateway(t, "127.0.0.5")
		e.addOutboundTrunk(t, ws, noAuthTrunk(tenancy.Gateway{Host: "127.0.0.5", Port: gwPort}))
		e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1312"}, "outbound_trunk_id": "carrier-out"})
		uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "6000")
		for name, p := range map[string]*sippProc{"trunk": uac, "service": svc} {
			if code, logs := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
			}
		}
		if gwGot.Load() == 0 {
			t.Errorf("the one transfer in progress was not dialled")
		}
		if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonTrunkHangup) {
			t.Errorf("reason %v", d["reason"])
		}
		if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "failed"}); n != 1 {
			t.Errorf("transfers failed = %v", n)
		}
		e.checkNoLeaks(t, ws)
	})
}

// TestReferOutsideDialog: a REFER without a To tag is 403, one of an
// unknown dialog 481.
func TestReferOutsideDialog(t *testing.T) {
	e := newTestEdge(t)
	ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:5999"})
	conn, err := net.Dial("udp4", e.udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	for _, tc := range []struct {
		name, toTag string
		want        string
	}{
		{"no dialog", "", "SIP/2.0 403"},
		{"unknown dialog", ";tag=nosuchdialog", "SIP/2.0 481"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fmt.Sprintf("REFER sip:edge@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s\r\nFrom: <sip:agent@127.0.0.1>;tag=abc\r\n"+
				"To: <sip:edge@127.0.0.1>%s\r\nCall-ID: refer-%s@test\r\nCSeq: 1 REFER\r\nMax-Forwards: 70\r\nContact: <sip:agent@%s>\r\n"+
				"Refer-To: <tel:+13125550142>\r\nContent-Length: 0\r\n\r\n", e.udpAddr, local, strings.ReplaceAll(tc.name, " ", ""), tc.toTag, strings.ReplaceAll(tc.name, " ", ""), local)
			if _, err := conn.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			buf := make([]byte, 4096)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(buf[:n]); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("answer %q, want %s", got, tc.want)
			}
		})
	}
	e.checkNoLeaks(t, ws)
}

// TestTransferTargetBusyOrOperators: a busy PSTN target fails the
// transfer (NOTIFY 486, call.transfer_failed busy) and the caller stays
// with the agent; a REFER to the operators the policy lists is an
// escalation request (NOTIFY 200, call.escalation_requested).
func TestTransferTargetBusyOrOperators(t *testing.T) {
	for _, tc := range []struct {
		name, scenario, referTo, event, want string
	}{
		{"busy target", "svc_refer_busy.xml", "<tel:+13125550142>", EventTransferFailed, string(ReasonCalleeBusy)},
		{"operators", "svc_refer_operators.xml", "<sip:operators@127.0.0.1;target=operators>", tenancy.EventEscalationRequested, "refer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			svc, target := startAgent(t, testScenario(tc.scenario), "-key", "refer_to", tc.referTo)
			ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
			busy, port := startPeer(t, "uas_busy.xml", "127.0.0.4")
			e.addOutboundTrunk(t, ws, noAuthTrunk(tenancy.Gateway{Host: "127.0.0.4", Port: port}))
			e.setTransferPolicy(t, ws, map[string]any{"kind": "pstn", "prefixes": []string{"+1312"}, "outbound_trunk_id": "carrier-out"},
				map[string]any{"kind": "operators"})
			uac := e.trunkCall(t, "uac_pcmu.xml", "+13125550100", "-d", "2500")
			procs := map[string]*sippProc{"trunk": uac, "service": svc}
			if tc.event == EventTransferFailed {
				procs["target"] = busy
			}
			for name, p := range procs {
				if code, logs := p.wait(t, 30*time.Second); code != 0 {
					t.Fatalf("%s sipp exit %d\n%s", name, code, logs)
				}
			}
			if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonTrunkHangup) {
				t.Errorf("reason %v: the caller did not stay with the agent", d["reason"])
			}
			found := ""
			for _, ev := range e.callEvents(t, ws) {
				if ev.Type == tc.event {
					found = string(ev.Data)
				}
			}
			if !strings.Contains(found, tc.want) {
				t.Errorf("%s %q, want %s", tc.event, found, tc.want)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}
