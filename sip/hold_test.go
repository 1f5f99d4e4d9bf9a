package sip

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/media"
)

// rms is the level of samples.
func rms(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// holdHeard reports how many 100 ms windows of samples carry the hold
// tone, of how many.
func holdHeard(samples []int16) (hits, windows int) {
	return toneWindows(samples, 8000, media.HoldToneHz, 1000)
}

// TestHoldAudioOperators: after a REFER to the operators the caller (a
// raw trunk, which decodes what reaches it) hears the hold tone: RTP with
// a non-silent payload where the agent sends nothing. With no operator
// within OperatorWait the caller is back with the agent: the tone stops
// and call.transfer_failed says no_operator.
func TestHoldAudioOperators(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.OperatorWait = 2 * time.Second }
	})
	svc, target := startAgent(t, testScenario("svc_refer_operators.xml"), "-key", "refer_to", "<sip:operators@127.0.0.1;target=operators>")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	e.setTransferPolicy(t, ws, map[string]any{"kind": "operators"})
	caller := e.dialRaw(t, "+13125550100")
	c := e.liveCall(t)
	waitFor(t, 5*time.Second, "hold audio on", func() bool {
		m, _ := c.warmMedia()
		return m != nil && unwrapSession(c.sess).(*media.Session).HoldPlaying()
	})
	t.Run("the caller hears the hold tone", func(t *testing.T) {
		heard := caller.say(t, 0, 1500*time.Millisecond)
		if lvl := rms(heard); lvl < 1000 {
			t.Fatalf("the caller hears silence (RMS %.0f over %d samples)", lvl, len(heard))
		}
		if hits, n := holdHeard(heard); n < 10 || hits < n/3 {
			t.Fatalf("hold tone in %d of %d windows", hits, n)
		}
	})
	t.Run("no operator: the caller is back with the agent", func(t *testing.T) {
		waitFor(t, 5*time.Second, "hold audio off", func() bool {
			return !unwrapSession(c.sess).(*media.Session).HoldPlaying()
		})
		caller.say(t, 0, 300*time.Millisecond) // what was on its way
		if hits, n := holdHeard(caller.say(t, 0, 600*time.Millisecond)); hits > 0 {
			t.Fatalf("hold tone still in %d of %d windows", hits, n)
		}
	})
	caller.hangup(t)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason %v", d["reason"])
	}
	failed := ""
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == EventTransferFailed {
			failed = string(ev.Data)
		}
	}
	if !strings.Contains(failed, `"reason":"no_operator"`) || !strings.Contains(failed, `"kind":"operators"`) {
		t.Errorf("call.transfer_failed %q", failed)
	}
	e.checkNoLeaks(t, ws)
}

// TestHoldAudioAgentGone: the agent REFERs the caller to the operators and
// hangs up: the call goes on, the caller hears hold audio, and with no
// operator within OperatorWait the call ends (no_operator), the caller
// getting the edge's BYE.
func TestHoldAudioAgentGone(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.OperatorWait = 3 * time.Second }
	})
	svc, target := startAgent(t, testScenario("svc_refer_operators_bye.xml"), "-key", "refer_to", "<sip:operators@127.0.0.1;target=operators>", "-d", "300")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+13125550100", cidr: "127.0.0.1/32", target: target})
	e.setTransferPolicy(t, ws, map[string]any{"kind": "operators"})
	caller := e.dialRaw(t, "+13125550100")
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	c := e.liveCall(t)
	if !c.agentIsGone() {
		t.Fatal("the agent's BYE ended the leg but the call does not know")
	}
	if hits, n := holdHeard(caller.say(t, 0, time.Second)); n < 5 || hits < n/3 {
		t.Fatalf("after the agent left: hold tone in %d of %d windows", hits, n)
	}
	bye := caller.trunk.waitRequest(t, "BYE", 5*time.Second)
	caller.trunk.respond(t, bye, 200, "OK")
	if d := e.waitEnded(t, ws, 1)[0]; d["reason"] != string(ReasonNoOperator) {
		t.Errorf("reason %v", d["reason"])
	}
	e.checkNoLeaks(t, ws)
}
