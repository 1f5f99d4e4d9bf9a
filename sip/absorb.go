package sip

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// endedInvites absorbs late copies of the INVITEs of ended calls. An
// INVITE transaction answered 2xx stays Accepted for 64*T1 and absorbs
// retransmitted INVITEs meanwhile (RFC 6026 section 7.1), but the edge
// ends it with its dialog (sipgo on the peer's BYE, the edge after its
// own BYE), so that 32 s of transactions do not hold every call's INVITE,
// 2xx and dialog (third_party/sipgo/PATCH.md). What the edge keeps of an
// ended call instead is its INVITE's transaction key, for the same 64*T1
// (two generations of a window each: a key lives one to two windows): a
// late copy of the INVITE is dropped, as the transaction would have
// dropped it, instead of starting a second call.
type endedInvites struct {
	window time.Duration

	mu        sync.Mutex
	cur, prev map[string]struct{}
	since     time.Time // when cur was started
}

func newEndedInvites(window time.Duration) *endedInvites {
	return &endedInvites{window: window, cur: map[string]struct{}{}, prev: map[string]struct{}{}, since: time.Now()}
}

// add keeps the transaction key of req, the INVITE of an ended call.
func (e *endedInvites) add(req *sip.Request, now time.Time) {
	key, err := sip.ServerTxKeyMake(req)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rotate(now)
	e.cur[key] = struct{}{}
}

// has reports whether req is a copy of the INVITE of a call that ended
// within the window.
func (e *endedInvites) has(req *sip.Request, now time.Time) bool {
	key, err := sip.ServerTxKeyMake(req)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rotate(now)
	_, inCur := e.cur[key]
	_, inPrev := e.prev[key]
	return inCur || inPrev
}

func (e *endedInvites) rotate(now time.Time) {
	switch age := now.Sub(e.since); {
	case age >= 2*e.window:
		clear(e.prev)
		clear(e.cur)
		e.since = now
	case age >= e.window:
		e.prev, e.cur = e.cur, e.prev
		clear(e.cur)
		e.since = now
	}
}
