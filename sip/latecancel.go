package sip

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// A service's 2xx can cross the edge's CANCEL (RFC 3261 section 9.1: the
// INVITE was answered before the CANCEL arrived). The service then holds
// a confirmed dialog nobody uses: the edge acknowledges the 2xx and sends
// BYE at once (section 15). sipgo hands the edge such a 2xx either as the
// INVITE's last response, when it comes while the CANCEL is in progress,
// or, once the INVITE's transaction is over, as an unmatched response:
// lateAnswers remembers the cancelled INVITEs for 64*T1, as long as the
// service retransmits its 2xx.
type lateAnswers struct {
	mu   sync.Mutex
	byID map[string]*lateAnswer // Call-ID of a cancelled service INVITE
}

type lateAnswer struct {
	b    *sipgo.DialogClientSession
	once sync.Once
}

// lateAnswerTTL is how long a cancelled INVITE's 2xx is waited for: the
// service retransmits it for 64*T1 (RFC 3261 section 13.3.1.4).
const lateAnswerTTL = 32 * time.Second

// cancelled remembers the service INVITE of b, cancelled by the edge, and
// ends the dialog at once when its 2xx has already come.
func (s *Server) cancelled(b *sipgo.DialogClientSession) {
	la := &lateAnswer{b: b}
	id := b.InviteRequest.CallID().Value()
	s.late.mu.Lock()
	if s.late.byID == nil {
		s.late.byID = map[string]*lateAnswer{}
	}
	s.late.byID[id] = la
	s.late.mu.Unlock()
	time.AfterFunc(lateAnswerTTL, func() {
		s.late.mu.Lock()
		if s.late.byID[id] == la {
			delete(s.late.byID, id)
		}
		s.late.mu.Unlock()
	})
	if res := b.InviteResponse; res != nil && res.IsSuccess() {
		la.once.Do(func() { go s.ackAndBye(b) })
	}
}

// onLateResponse takes a response that matched no transaction: the 2xx
// of a cancelled service INVITE is acknowledged and its dialog ended.
// It reports whether it took it.
func (s *Server) onLateResponse(res *sip.Response) bool {
	if !res.IsSuccess() || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE || res.CallID() == nil {
		return false
	}
	s.late.mu.Lock()
	la := s.late.byID[res.CallID().Value()]
	s.late.mu.Unlock()
	if la == nil {
		return false
	}
	la.once.Do(func() {
		la.b.InviteResponse = res
		go s.ackAndBye(la.b)
	})
	return true
}

// ackAndBye acknowledges the 2xx of b and hangs it up.
func (s *Server) ackAndBye(b *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(s.bgCtx, s.cfg.ByeTimeout)
	defer cancel()
	if err := b.Ack(ctx); err != nil {
		s.log.Debug("ack late answer", "error", err)
		return
	}
	if err := b.Bye(ctx); err != nil {
		s.log.Debug("bye late answer", "error", err)
	}
}
