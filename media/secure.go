package media

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/voiceedge/edge/media/srtp"
)

// legSecurity is a leg's SDES-SRTP state (RFC 4568): the edge's key, with
// which it protects what it sends to the peer, and the peer's, with which
// the leg's reader authenticates and decrypts what it receives. It is
// replaced, never changed, so the reader loads it with one atomic load.
type legSecurity struct {
	local  srtp.Crypto
	enc    *srtp.Encrypter // guarded by leg.txMu
	remote srtp.Crypto
	dec    *srtp.Decrypter // nil until the peer's key is known; the reader's alone
	decCtl *srtp.Decrypter // SRTCP of the peer, guarded by the leg's rtcp.mu
}

// active reports whether the leg runs SRTP: both keys are known.
func (s *legSecurity) active() bool { return s != nil && s.dec != nil }

// sender writes the packets of a leg: through its Encrypter when the leg is
// SRTP, into a buffer of its own, so the relay's and the mixer's buffers
// stay untouched and nothing is allocated per packet.
type sender struct {
	mu  sync.Mutex // one writer at a time on the Encrypter and buf
	buf []byte
}

// write sends pkt to dst on the leg's socket, protected when the leg is
// SRTP. It returns the number of bytes written.
func (l *leg) write(pkt []byte, dst netip.AddrPort) (int, error) {
	sec := l.sec.Load()
	if !sec.active() {
		return l.sock.writeTo(pkt, dst)
	}
	l.tx.mu.Lock()
	defer l.tx.mu.Unlock()
	if l.tx.buf == nil {
		l.tx.buf = make([]byte, readBufferSize+srtp.Overhead)
	}
	if len(pkt)+srtp.Overhead > len(l.tx.buf) {
		return 0, fmt.Errorf("srtp: %d-byte packet: %w", len(pkt), srtp.ErrMalformed)
	}
	out, err := sec.enc.RTP(l.tx.buf[:0], pkt)
	if err != nil {
		return 0, err
	}
	return l.sock.writeTo(out, dst)
}

// OfferCrypto returns the edge's SRTP key for an offer it makes on leg l
// (tag 1, suite suite), drawn from crypto/rand once per leg and suite: a
// re-offer repeats it. SRTP starts when SetCrypto gives the peer's key.
func (s *Session) OfferCrypto(l Leg, suite srtp.Suite) (srtp.Crypto, error) {
	if !l.valid() {
		return srtp.Crypto{}, fmt.Errorf("offer crypto of call %s: %w: %d", s.callID, ErrInvalidLeg, l)
	}
	s.secMu.Lock()
	defer s.secMu.Unlock()
	lg := s.legs[l]
	cur := lg.sec.Load()
	if cur != nil && cur.local.Suite == suite {
		return cur.local, nil
	}
	next, err := withLocal(cur, suite, 1)
	if err != nil {
		return srtp.Crypto{}, fmt.Errorf("offer crypto of call %s leg %s: %w", s.callID, l, err)
	}
	lg.sec.Store(next)
	return next.local, nil
}

// SetCrypto sets the SRTP key of leg l's peer, from its offer or answer
// (Description.PeerCrypto), and returns the edge's own key for that leg:
// the suite of the peer's and its tag, as an answer must carry it (RFC 4568
// section 7.1.2). The edge's key is drawn from crypto/rand and kept across
// re-offers of the same suite; an unchanged peer key keeps its replay and
// rollover state. A zero remote turns SRTP off on the leg (a plain RTP
// re-offer) and returns the zero Crypto.
func (s *Session) SetCrypto(l Leg, remote srtp.Crypto) (srtp.Crypto, error) {
	if !l.valid() {
		return srtp.Crypto{}, fmt.Errorf("set crypto of call %s: %w: %d", s.callID, ErrInvalidLeg, l)
	}
	s.secMu.Lock()
	defer s.secMu.Unlock()
	lg := s.legs[l]
	if remote.IsZero() {
		lg.sec.Store(nil)
		return srtp.Crypto{}, nil
	}
	cur := lg.sec.Load()
	next := &legSecurity{}
	if cur != nil {
		*next = *cur
	}
	if cur == nil || cur.local.Suite != remote.Suite {
		n, err := withLocal(cur, remote.Suite, remote.Tag)
		if err != nil {
			return srtp.Crypto{}, fmt.Errorf("set crypto of call %s leg %s: %w", s.callID, l, err)
		}
		next.local, next.enc = n.local, n.enc
	}
	next.local.Tag = remote.Tag
	if cur == nil || cur.dec == nil || !cur.remote.Equal(remote) {
		dec, err := srtp.NewDecrypter(remote)
		if err != nil {
			return srtp.Crypto{}, fmt.Errorf("set crypto of call %s leg %s: %w: %w", s.callID, l, ErrBadCrypto, err)
		}
		ctl, err := srtp.NewDecrypter(remote)
		if err != nil {
			return srtp.Crypto{}, fmt.Errorf("set crypto of call %s leg %s: %w: %w", s.callID, l, ErrBadCrypto, err)
		}
		next.dec, next.decCtl = dec, ctl
	}
	next.remote = remote
	lg.sec.Store(next)
	return next.local, nil
}

// withLocal returns cur with a fresh local key of suite.
func withLocal(cur *legSecurity, suite srtp.Suite, tag int) (*legSecurity, error) {
	local, err := srtp.Generate(suite, tag)
	if err != nil {
		return nil, err
	}
	enc, err := srtp.NewEncrypter(local)
	if err != nil {
		return nil, err
	}
	next := &legSecurity{local: local, enc: enc}
	if cur != nil {
		next.remote, next.dec, next.decCtl = cur.remote, cur.dec, cur.decCtl
	}
	return next, nil
}
