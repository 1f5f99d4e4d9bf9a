package sip

import (
	"testing"
	"time"
)

// TestSetupGateBoundsAndShares: the gate holds at most its bound, one
// workspace at most half of it, and gives places back.
func TestSetupGateBoundsAndShares(t *testing.T) {
	g := newSetupGate(4)
	for i := 0; i < 4; i++ {
		if !g.enter() {
			t.Fatalf("setup %d refused under the bound", i)
		}
	}
	if g.enter() {
		t.Fatal("a fifth setup entered a gate of 4")
	}
	if !g.enterWorkspace("ws_a") || !g.enterWorkspace("ws_a") || g.enterWorkspace("ws_a") {
		t.Fatal("workspace share is not half the bound")
	}
	if !g.enterWorkspace("ws_b") {
		t.Fatal("another workspace refused while the first holds its share")
	}
	g.leave("ws_a")
	if !g.enter() || !g.enterWorkspace("ws_a") {
		t.Fatal("a place given back was not taken again")
	}
	var unbounded *setupGate
	if !unbounded.enter() || !unbounded.enterWorkspace("x") {
		t.Fatal("no gate refused")
	}
	unbounded.leave("x")
}

// TestOverloadShedsAtOnce: with Redis hung, setups pile up on admission;
// past the bound the edge answers 503 with Retry-After within
// milliseconds instead of queueing them, and once Redis answers again the
// edge admits calls as before. One workspace's pile-up holds half the
// gate: another's INVITEs still enter (and are refused only when the whole
// gate is full).
func TestOverloadShedsAtOnce(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) {
			c.MaxSetups, c.StoreTimeout = 4, 3*time.Second
			c.T1, c.ByeTimeout = 50*time.Millisecond, 2*time.Second // the raw trunk answers nothing
		}
	})
	_, target := startService(t, "uas_answer.xml", "-m", "20") // answers every call of the test
	e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	e.addWorkspace(t, wsSpec{name: "Other", number: "+15551230002", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	e.redis.Pause()
	resumed := false
	defer func() {
		if !resumed {
			e.redis.Resume()
		}
	}()
	send := func(number string) {
		inv := trunk.newInvite(number)
		trunk.send(t, inv.text(trunk.local()))
	}
	// Two of the first workspace hang on Redis (its share of a gate of
	// 4), its third is refused 480; two of the other workspace hang too;
	// then the gate is full and the next gets 503 at once.
	for i := 0; i < 3; i++ {
		send("+15551230001")
	}
	if res := trunk.waitResponse(t, 480, 2*time.Second); res == nil || res.GetHeader("Retry-After") == nil {
		t.Fatalf("a workspace over its share of the gate: %v, want 480 with Retry-After", res)
	}
	send("+15551230002")
	send("+15551230002")
	time.Sleep(200 * time.Millisecond) // both in the gate, on Redis
	sent := time.Now()
	send("+15551230002")
	res := trunk.waitResponse(t, 503, 2*time.Second)
	if res == nil || res.GetHeader("Retry-After") == nil {
		t.Fatalf("an INVITE past the gate: %v, want 503 with Retry-After", res)
	}
	if d := time.Since(sent); d > time.Second {
		t.Errorf("the 503 took %v: queued, not shed", d)
	}
	if n := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(ReasonOverload)}); n != 1 {
		t.Errorf("overload refusals counted %v, want 1", n)
	}
	e.redis.Resume()
	resumed = true
	waitForCond(t, 20*time.Second, "the gate empty again", func() bool {
		g := e.srv.setups
		g.mu.Lock()
		total := g.total
		g.mu.Unlock()
		g.perWS.mu.Lock()
		defer g.perWS.mu.Unlock()
		return total == 0 && len(g.perWS.byWS) == 0
	})
	// The gate takes setups again: a new INVITE is not shed.
	send("+15551230001")
	time.Sleep(500 * time.Millisecond)
	for _, r := range []Reason{ReasonOverload, ReasonWorkspaceOverload} {
		if n := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(r)}); n != 1 {
			t.Errorf("%s refusals %v after Redis is back, want still 1", r, n)
		}
	}
}
