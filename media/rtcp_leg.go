package media

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/voiceedge/edge/media/rtcp"
	"github.com/voiceedge/edge/media/srtp"
)

// RTCP is terminated per leg (RFC 3550 section 6): the edge reads the
// reports its peer sends on the leg's RTCP port (RTP+1, or the RTP port with
// rtcp-mux, RFC 5761), and sends the peer reports of its own about what it
// relays to it (SR) and receives from it (report blocks). Nothing of one
// leg's RTCP reaches the other leg.

// DefaultRTCPInterval is the report interval of DefaultConfig (RFC 3550
// section 6.2 recommends 5 s as the minimum).
const DefaultRTCPInterval = 5 * time.Second

// RTCPStats are a leg's RTCP counters and what its peer reported, in
// call.ended.
type RTCPStats struct {
	// ReportsReceived counts valid compound packets from the peer;
	// ReportsSent the edge's reports to it; Dropped the datagrams refused
	// (wrong source, malformed, failed SRTCP authentication).
	ReportsReceived uint64 `json:"reports_received"`
	ReportsSent     uint64 `json:"reports_sent"`
	Dropped         uint64 `json:"dropped"`
	// RemoteFractionLost, RemoteLost and RemoteJitterMs are the peer's
	// latest report block about the stream the edge sends it: the loss and
	// jitter on the way from the edge to the peer.
	RemoteFractionLost float64 `json:"remote_fraction_lost"`
	RemoteLost         uint32  `json:"remote_lost"`
	RemoteJitterMs     float64 `json:"remote_jitter_ms"`
	// RTTMs is the round-trip time between the edge and the peer from the
	// peer's LSR/DLSR (RFC 3550 section 6.4.1), 0 when unknown.
	RTTMs float64 `json:"rtt_ms"`
	// Quality is the E-model estimate for the leg (package rtcp), from the
	// worse of the two directions' loss and jitter and the round-trip time.
	rtcp.Quality
}

// rtcpPeer is where a leg's peer wants RTCP, from its SDP.
type rtcpPeer struct {
	addr netip.AddrPort
	mux  bool
}

// rtcpLeg is a leg's RTCP state. Readers (the leg's RTCP reader, and the
// RTP reader under rtcp-mux) and the reporter share it under mu.
type rtcpLeg struct {
	sock  *sock // the RTCP socket (the port pool releases it with the leg's RTP one)
	local netip.AddrPort

	mu       sync.Mutex
	peer     rtcpPeer
	latched  netip.AddrPort // source the peer's RTCP came from
	ssrc     uint32         // the edge's SSRC for RRs before it sends RTP
	cname    string
	received uint64
	sent     uint64
	dropped  uint64
	lastSR   uint32    // middle of the NTP time of the peer's last SR
	lastSRAt time.Time // when it arrived
	remote   rtcp.ReportBlock
	hasBlock bool
	rtt      time.Duration
	// Report intervals: what the previous report covered.
	prevExpected uint64
	prevLost     int64
	prevTx       uint64
}

// newRTCPLeg returns the RTCP state of a leg whose RTCP socket k is bound
// to local, with a fresh SSRC and CNAME, random so that nothing ties the
// two legs of a call together.
func newRTCPLeg(k *sock, local netip.AddrPort) *rtcpLeg {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &rtcpLeg{ssrc: binary.BigEndian.Uint32(b[:4]), cname: "edge-" + hex.EncodeToString(b[4:]), sock: k, local: local}
}

// SetRTCP tells leg l where its peer wants RTCP (Description.RTCPAddr) and
// whether it multiplexes RTCP on the RTP port (RFC 5761).
func (s *Session) SetRTCP(l Leg, addr netip.AddrPort, mux bool) error {
	if !l.valid() {
		return fmt.Errorf("set rtcp of call %s: %w: %d", s.callID, ErrInvalidLeg, l)
	}
	r := s.legs[l].rtcp
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peer.addr != addr || r.peer.mux != mux {
		r.latched = netip.AddrPort{}
	}
	r.peer = rtcpPeer{addr: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), mux: mux}
	return nil
}

// rtcpReadSize is the longest datagram read on an RTCP socket: one
// byte over the longest compound packet with its SRTCP trailer, so that
// a longer one shows (onRTCP drops it as malformed).
const rtcpReadSize = rtcp.MaxPacketSize + srtp.Overhead + 1

// rtcpReceiver is what handles the datagrams of leg l's RTCP socket:
// onRTCP, on the poller's goroutine.
func (s *Session) rtcpReceiver(l *leg) func(pkt []byte, src netip.AddrPort) {
	return func(pkt []byte, src netip.AddrPort) { s.onRTCP(l, pkt, src, time.Now()) }
}

// RTCP drop reasons, the label set of edge_media_rtcp_dropped_total.
const (
	rtcpWrongSource = iota
	rtcpMalformed
	rtcpAuth
	numRTCPDrops
)

var rtcpDropNames = [numRTCPDrops]string{"wrong_source", "malformed", "srtp_auth"}

// onRTCP takes one datagram of RTCP received on leg l: it checks the
// source (the peer's RTP address, any port), authenticates SRTCP, checks
// and reads the compound packet, and keeps what the peer reported. It
// never relays anything.
func (s *Session) onRTCP(l *leg, pkt []byte, src netip.AddrPort, now time.Time) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	r := l.rtcp
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	drop := func(reason int) {
		r.dropped++
		s.metrics.rtcpDropped[reason].Inc()
	}
	p := l.peer.Load()
	switch {
	case p == nil:
		drop(rtcpWrongSource)
		return
	case r.latched.IsValid() && src == r.latched:
	case p.latched.IsValid() && src.Addr() == p.latched.Addr():
	case !p.latched.IsValid() && src.Addr() == p.signalled.Addr():
	default:
		drop(rtcpWrongSource)
		return
	}
	if sec := l.sec.Load(); sec.active() {
		plain, err := sec.decCtl.RTCP(pkt)
		if err != nil {
			drop(rtcpAuth)
			return
		}
		pkt = plain
	}
	rep, err := rtcp.Parse(pkt)
	if err != nil {
		drop(rtcpMalformed)
		return
	}
	r.latched = src
	r.received++
	s.metrics.rtcpReceived.Inc()
	if rep.Sender {
		r.lastSR, r.lastSRAt = rtcp.Middle(rep.NTP), now
	}
	tx := l.txSSRC.Load()
	for _, b := range rep.Blocks {
		if b.SSRC != tx && b.SSRC != r.ssrc {
			continue // about a stream the edge does not send on this leg
		}
		r.remote, r.hasBlock = b, true
		if rtt, ok := rtcp.RTT(b, now); ok {
			r.rtt = rtt
		}
		break
	}
}

// report sends leg l's peer the edge's compound packet: an SR when the edge
// sent it RTP since the last report, else an RR, with a report block about
// the stream received from it.
func (s *Session) report(l *leg, now time.Time) {
	p := l.peer.Load()
	r := l.rtcp
	r.mu.Lock()
	dst, ok := r.destination(p)
	if !ok {
		r.mu.Unlock()
		return
	}
	st := &l.stats
	var blocks []rtcp.ReportBlock
	if st.rxPackets.Load() > 0 {
		exp, lost := st.expected.Load(), st.lost.Load()
		de, dl := int64(exp-r.prevExpected), lost-r.prevLost
		var frac uint8
		if de > 0 && dl > 0 {
			frac = uint8(min(dl*256/de, 255))
		}
		r.prevExpected, r.prevLost = exp, lost
		b := rtcp.ReportBlock{SSRC: st.rxSSRC.Load(), FractionLost: frac, TotalLost: uint32(min(max(lost, 0), 0x7FFFFF)),
			LastSeq: st.extSeq.Load(), Jitter: st.jitter.Load() / 16}
		if !r.lastSRAt.IsZero() {
			b.LSR = r.lastSR
			b.DLSR = uint32(now.Sub(r.lastSRAt) * 65536 / time.Second)
		}
		blocks = append(blocks, b)
	}
	var sender *rtcp.Sender
	if txp := st.txPackets.Load(); txp > r.prevTx && l.txAt.Load() != 0 {
		r.prevTx = txp
		since := now.Sub(s.epoch) - time.Duration(l.txAt.Load())
		sender = &rtcp.Sender{SSRC: l.txSSRC.Load(), NTP: rtcp.NTP(now),
			RTPTime: l.txTS.Load() + rtpClockAt(max(since, 0), st.rate()),
			Packets: uint32(txp), Octets: uint32(st.txBytes.Load() - rtpHeaderLen*txp)}
	}
	ssrc, cname, mux := r.ssrc, r.cname, r.peer.mux
	r.mu.Unlock()

	pkt, err := rtcp.Build(ssrc, sender, blocks, cname)
	if err != nil {
		return
	}
	out := r.sock
	if mux || out == nil {
		out = l.sock
	}
	if _, err := l.writeRTCP(out, pkt, dst); err != nil {
		return
	}
	r.mu.Lock()
	r.sent++
	r.mu.Unlock()
	s.metrics.rtcpSent.Inc()
}

// destination is where the leg's RTCP goes: the RTP destination with
// rtcp-mux, else the source the peer's RTCP came from, else its SDP's
// RTCP address (at the latched RTP address when latching moved it).
func (r *rtcpLeg) destination(p *peer) (netip.AddrPort, bool) {
	if p == nil {
		return netip.AddrPort{}, false
	}
	rtpDst, ok := p.destination()
	if !ok {
		return netip.AddrPort{}, false
	}
	switch {
	case r.peer.mux:
		return rtpDst, true
	case r.latched.IsValid():
		return r.latched, true
	case r.peer.addr.Port() == 0:
		return netip.AddrPortFrom(rtpDst.Addr(), rtpDst.Port()+1), true
	case p.latched.IsValid() && p.latched.Addr() != r.peer.addr.Addr():
		return netip.AddrPortFrom(p.latched.Addr(), r.peer.addr.Port()), true
	}
	return r.peer.addr, true
}

// writeRTCP sends a compound packet on conn, as SRTCP when the leg is SRTP.
func (l *leg) writeRTCP(out *sock, pkt []byte, dst netip.AddrPort) (int, error) {
	sec := l.sec.Load()
	if !sec.active() {
		return out.writeTo(pkt, dst)
	}
	l.tx.mu.Lock()
	defer l.tx.mu.Unlock()
	enc, err := sec.enc.RTCP(make([]byte, 0, len(pkt)+srtp.Overhead), pkt)
	if err != nil {
		return 0, err
	}
	return out.writeTo(enc, dst)
}

// noteTx records the stream sent to the leg, for the SR: its SSRC, the
// timestamp of the latest packet and when it was sent.
func (l *leg) noteTx(ssrc, ts uint32, elapsed time.Duration) {
	l.txSSRC.Store(ssrc)
	l.txTS.Store(ts)
	l.txAt.Store(int64(elapsed) + 1)
}

// rtcpSnapshot returns the leg's RTCPStats, with the E-model estimate from
// local (what the edge measured of the peer's stream) and the peer's
// reports.
func (r *rtcpLeg) snapshot(local LegStats, rate uint32) RTCPStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := RTCPStats{ReportsReceived: r.received, ReportsSent: r.sent, Dropped: r.dropped,
		RTTMs: float64(r.rtt.Microseconds()) / 1000}
	if r.hasBlock {
		st.RemoteFractionLost = float64(r.remote.FractionLost) / 256
		st.RemoteLost = r.remote.TotalLost
		st.RemoteJitterMs = float64(r.remote.Jitter) / (float64(rate) / 1000)
	}
	loss := st.RemoteFractionLost
	if local.PacketsExpected > 0 {
		loss = math.Max(loss, float64(local.PacketsLost)/float64(local.PacketsExpected))
	}
	jitter := math.Max(local.JitterMs, st.RemoteJitterMs)
	st.Quality = rtcp.EModel(r.rtt, time.Duration(jitter*float64(time.Millisecond)), loss)
	return st
}
