package sip

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/tenancy"
)

// busyService is a service that answers every INVITE 486 at once and
// counts the calls (Call-IDs) it was offered.
type busyService struct {
	conn   *net.UDPConn
	target string
	mu     sync.Mutex
	calls  map[string]bool
	done   chan struct{}
}

func newBusyService(t *testing.T) *busyService {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	b := &busyService{conn: conn, target: "sip:agent@" + conn.LocalAddr().String() + ";transport=udp", calls: map[string]bool{}, done: make(chan struct{})}
	go b.serve()
	t.Cleanup(func() { conn.Close(); <-b.done })
	return b
}

func (b *busyService) serve() {
	defer close(b.done)
	p := sip.NewParser()
	buf := make([]byte, 65535)
	for {
		n, addr, err := b.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := p.ParseSIP(buf[:n])
		if err != nil {
			continue
		}
		req, ok := msg.(*sip.Request)
		if !ok || !req.IsInvite() {
			continue
		}
		b.mu.Lock()
		b.calls[req.CallID().Value()] = true
		b.mu.Unlock()
		res := sip.NewResponseFromRequest(req, 486, "Busy Here", nil)
		_, _ = b.conn.WriteToUDP([]byte(res.String()), addr)
	}
}

func (b *busyService) offered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// TestCPSLimitEndToEnd runs a workspace at max_cps=1 through the real
// stack: of two INVITEs in the same second the first is admitted (and
// ends: its service is busy), the second is answered 480 with
// Retry-After (design section 7: callee-scoped, not the 503 a carrier
// applies to the whole edge) and leaves nothing: no call record, no event, no INVITE to
// the service, no slot.
func TestCPSLimitEndToEnd(t *testing.T) {
	e := newTestEdge(t)
	svc := newBusyService(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: svc.target,
		limits: tenancy.Limits{MaxCPS: 1}})
	other := e.addWorkspace(t, wsSpec{name: "Other", number: "+15551230002", cidr: "127.0.0.1/32", target: svc.target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	eventsBefore := len(e.events(t, other))

	// Both INVITEs fall in one second of the CPS window (the store counts
	// by the wall clock's second): start just after a second begins.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	start := time.Now()
	first := trunk.newInvite("+15551230001")
	res, raw := trunk.call(t, first, 3*time.Second)
	if res == nil || res.StatusCode != 486 {
		t.Fatalf("first call: %v, want the busy service's 486\n%s", res, raw)
	}
	second := trunk.newInvite("+15551230001")
	res, raw = trunk.call(t, second, 3*time.Second)
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Fatalf("the two INVITEs took %v: not one CPS window", elapsed)
	}
	if res == nil || res.StatusCode != 480 {
		t.Fatalf("second call: %v, want 480\n%s", res, raw)
	}
	if h := res.GetHeader("Retry-After"); h == nil || h.Value() != "1" {
		t.Errorf("480 without Retry-After: 1:\n%s", raw)
	}
	// A workspace of its own quota is not limited by another's.
	res, raw = trunk.call(t, trunk.newInvite("+15551230002"), 3*time.Second)
	if res == nil || res.StatusCode != 486 {
		t.Fatalf("call of the other workspace: %v, want 486\n%s", res, raw)
	}

	calls, _, err := e.store.ListCalls(context.Background(), ws, false, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Fatalf("call records %+v, want the first call's only", calls)
	}
	ended := e.waitEnded(t, ws, 1)
	if got := ended[0]["reason"]; got != string(ReasonServiceBusy) {
		t.Errorf("first call ended %v, want service_busy", got)
	}
	var started int
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == tenancy.EventCallStarted {
			started++
		}
	}
	if started != 1 {
		t.Errorf("%d call.started events, want 1", started)
	}
	// The trunk has the 486 before call.ended is written: wait for it.
	e.waitEnded(t, other, 1)
	if n := len(e.events(t, other)) - eventsBefore; n != 2 {
		t.Errorf("other workspace got %d events, want its own call's 2", n)
	}
	if got := svc.offered(); got != 2 {
		t.Errorf("service offered %d calls, want 2 (first and other)", got)
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(ReasonCPSLimit)}); got != 1 {
		t.Errorf("invites_total{rejected,cps_limit} = %v, want 1", got)
	}
	e.checkNoLeaks(t, ws, other)
}
