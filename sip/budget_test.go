package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
)

func TestBudgets(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBudgets()
	b.now = func() time.Time { return now }
	ip := netip.MustParseAddr("192.0.2.1")
	a := budgetKey{workspace: "ws_a", trunk: "carrier", ip: ip}
	other := budgetKey{workspace: "ws_b", trunk: "carrier", ip: ip}
	for i := range 3 {
		if !b.allow(a, 3) {
			t.Fatalf("request %d within the budget refused", i)
		}
	}
	if b.allow(a, 3) {
		t.Fatal("fourth request in one second allowed at 3/s")
	}
	if !b.allow(other, 3) {
		t.Fatal("another workspace's trunk on the same address shares the budget")
	}
	if !b.allow(budgetKey{ip: ip}, 3) {
		t.Fatal("the source's own bucket shares a trunk's")
	}
	now = now.Add(400 * time.Millisecond)
	if !b.allow(a, 3) {
		t.Fatal("no token after 400 ms at 3/s")
	}
	if !b.allow(a, 0) {
		t.Fatal("a zero budget limits")
	}
}

// TestOverBudget checks which requests of a carrier count (design section
// 10): ACK, CANCEL, initial INVITEs (charged by admission) and requests of
// known dialogs never; out-of-dialog requests and requests of unknown
// dialogs do.
func TestOverBudget(t *testing.T) {
	tr := &routing.Trunk{ID: "carrier", WorkspaceID: "ws", RequestsPerSecond: 1,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	met, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{metrics: met, log: testLogger(), router: budgetRouter{tr}, dialogs: newDialogCache(), budget: newBudgets()}
	ip := netip.MustParseAddr("192.0.2.1")
	req := func(method, toTag string) *sip.Request {
		to := "<sip:edge@e>"
		if toTag != "" {
			to += ";tag=" + toTag
		}
		raw := method + " sip:+15551230001@e SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:c@c>;tag=1\r\nTo: " + to +
			"\r\nCall-ID: x\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n"
		msg, err := sip.NewParser().ParseSIP([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Request)
	}
	known := req("BYE", "live")
	id, err := sip.DialogIDFromRequestUAS(known)
	if err != nil {
		t.Fatal(err)
	}
	s.dialogs.addLeg(id, &call{id: "call_live"}, media.LegA)
	tests := []struct {
		name    string
		req     *sip.Request
		from    netip.Addr
		counted bool
	}{
		{"ack", req("ACK", "x"), ip, false},
		{"bye of a known dialog", known, ip, false},
		{"info of a known dialog", req("INFO", "live"), ip, false},
		{"cancel", req("CANCEL", ""), ip, false},
		{"initial invite", req("INVITE", ""), ip, false},
		{"unknown source", req("OPTIONS", ""), netip.MustParseAddr("203.0.113.1"), false},
		{"options", req("OPTIONS", ""), ip, true},
		{"bye of an unknown dialog", req("BYE", "gone"), ip, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.budget = newBudgets()
			for i := range 5 {
				rej := s.overBudget(tc.req, tc.from)
				if !tc.counted && rej != nil {
					t.Fatalf("request %d refused %v: it never counts", i, rej)
				}
				if tc.counted && i > 0 && (rej == nil || rej.Reason != ReasonTrunkBudget || rej.RetryAfter != budgetRetryAfter) {
					t.Fatalf("request %d over a budget of 1/s: %v, want 503 with Retry-After", i, rej)
				}
			}
		})
	}
}

// budgetRouter knows one trunk.
type budgetRouter struct{ t *routing.Trunk }

func (r budgetRouter) KnownSource(a netip.Addr) bool { return r.t.Contains(a) }
func (r budgetRouter) TrunksFrom(a netip.Addr) []*routing.Trunk {
	if r.t.Contains(a) {
		return []*routing.Trunk{r.t}
	}
	return nil
}
func (r budgetRouter) Lookup(string) (*routing.Route, bool) { return nil, false }
func (r budgetRouter) LookupFrom(netip.Addr, string) (*routing.Route, *routing.Trunk, bool) {
	return nil, nil, false
}
