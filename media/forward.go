package media

import (
	"errors"
	"net/netip"
	"time"

	"github.com/voiceedge/edge/media/rtcp"
	"github.com/voiceedge/edge/media/srtp"
)

// readBufferSize is the size of a relay's read buffer. RTP of G.711 is a
// few hundred bytes; a datagram that fills the buffer may have been
// truncated and is dropped as malformed.
const readBufferSize = 2048

// forwarder relays the packets received on one leg to the other leg. The
// session's poller runs it (receive), one datagram at a time, in the
// poller's buffer; its own buffers are allocated once and reused for every
// packet, so the forward path does not allocate.
type forwarder struct {
	s        *Session
	from, to *leg
	pcm      []int16 // decoded audio for the Tap and the mixer; see pcmBuf
	rx       rxStream
	// The RFC 4733 event last seen (its timestamp) and whether its end was
	// signalled already (the end packet comes three times).
	evTS    uint32
	evEnded bool
}

func newForwarder(s *Session, from, to *leg) *forwarder {
	return &forwarder{s: s, from: from, to: to}
}

// pcmBuf returns the buffer of decoded audio, allocated on first use: only
// calls with a Tap or operators decode, and 4 KiB per leg is a third of a
// relayed call's memory. The poller's goroutine is its only user.
func (f *forwarder) pcmBuf() []int16 {
	if f.pcm == nil {
		f.pcm = make([]int16, readBufferSize)
	}
	return f.pcm
}

// receive relays one datagram pkt that the from leg's socket received
// from src (on the poller's goroutine, which reads at most
// readBufferSize-srtp.Overhead bytes of it).
func (f *forwarder) receive(pkt []byte, src netip.AddrPort) {
	if len(pkt) >= readBufferSize-srtp.Overhead {
		f.count(dropMalformed) // it may have been truncated
		return
	}
	if rtcp.IsRTCP(pkt) {
		// rtcp-mux (RFC 5761): RTCP on the RTP port, terminated here.
		f.s.onRTCP(f.from, pkt, src, time.Now())
		return
	}
	pkt, reason := f.open(pkt)
	if reason != dropNone {
		f.count(reason)
		return
	}
	n := len(pkt)
	dst, reason := f.handle(pkt, src, time.Since(f.s.epoch))
	if reason == dropNone {
		// Counted before the write, so that whoever receives the packet
		// finds it counted.
		f.to.stats.txPackets.Add(1)
		f.to.stats.txBytes.Add(uint64(n))
		if _, err := f.to.write(pkt, dst); err != nil {
			f.to.stats.txPackets.Add(^uint64(0))
			f.to.stats.txBytes.Add(^uint64(n - 1))
			reason = dropWriteError
		}
	}
	f.count(reason)
	if reason == dropNone {
		f.s.metrics.relayedPackets[f.from.id].Inc()
		f.s.metrics.relayedBytes[f.from.id].Add(float64(n))
	}
}

// open authenticates and decrypts, in place, what an SRTP leg received;
// plain legs' packets pass as they are. It runs before anything else looks
// at a packet: a forgery never latches, never counts as media and never
// reaches the other leg (RFC 3711 section 3.3).
func (f *forwarder) open(pkt []byte) ([]byte, dropReason) {
	sec := f.from.sec.Load()
	if !sec.active() {
		return pkt, dropNone
	}
	out, err := sec.dec.RTP(pkt)
	switch {
	case err == nil:
		return out, dropNone
	case errors.Is(err, srtp.ErrAuth):
		return nil, dropAuth
	default:
		return nil, dropMalformed
	}
}

// count records a dropped packet on the receiving leg and in the metrics.
func (f *forwarder) count(r dropReason) {
	switch r {
	case dropNone, handedToMixer:
		return
	case dropMalformed:
		f.from.stats.dropMalformed.Add(1)
	case dropWrongSource:
		f.from.stats.dropWrongSource.Add(1)
	case dropAuth:
		f.from.stats.dropAuth.Add(1)
	default:
		f.from.stats.dropOther.Add(1)
	}
	f.s.metrics.dropped[r].Inc()
}

// handle processes one datagram pkt received from src on the from leg,
// elapsed after the session's epoch. It checks and latches the source,
// updates the receive statistics, maps the payload type to the other leg's
// (RFC 3264 section 6.1: each side sends with the payload types the other
// announced), transcodes the payload in place if the legs use different
// G.711 laws, and returns where to send pkt, or why it must be dropped.
// SSRC, sequence number, timestamp and marker pass through unchanged, unless
// an operator mixer has sent frames of its own in the stream (outStream).
// While operators are on the call, audio is also handed to the mixer, and
// when the mixer sends the stream it is not relayed (handedToMixer).
func (f *forwarder) handle(pkt []byte, src netip.AddrPort, elapsed time.Duration) (netip.AddrPort, dropReason) {
	h, ok := parseRTPHeader(pkt)
	if !ok {
		return netip.AddrPort{}, dropMalformed
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	fp, notReady := f.from.accept(src, f.s.cfg.LatchAnySource)
	if fp == nil {
		if notReady {
			return netip.AddrPort{}, dropNotReady
		}
		return netip.AddrPort{}, dropWrongSource
	}

	st := &f.from.stats
	st.rxPackets.Add(1)
	st.rxBytes.Add(uint64(len(pkt)))
	st.lastRx.Store(int64(elapsed) + 1)
	audio := h.pt == fp.codecPT
	f.rx.setClock(fp.clock)
	f.rx.update(&h, rtpClockAt(elapsed, fp.clock), audio)
	f.rx.publish(st)

	m := f.s.mix.Load()
	if audio && m != nil && fp.law != lawNone {
		pcm := f.pcmBuf()
		pcm = pcm[:decode(pcm, pkt[h.payloadStart:h.payloadEnd], fp.law)]
		if m.fromLeg(f.from.id, &h, pcm, elapsed) {
			return netip.AddrPort{}, handedToMixer
		}
	}

	tp := f.to.peer.Load()
	if tp == nil {
		return netip.AddrPort{}, dropNotReady
	}
	if f.to.injecting.Load() {
		return netip.AddrPort{}, handedToMixer // an injected event replaces it
	}
	dst, ok := tp.destination()
	if !ok {
		return netip.AddrPort{}, dropNotReady
	}
	var outPT uint8
	switch {
	case audio && fp.enc != tp.enc && (fp.law == lawNone || tp.law == lawNone):
		return netip.AddrPort{}, dropPayloadType // G.722 and Opus are passed through, never transcoded
	case audio:
		outPT = tp.codecPT // the receiver's payload type (Opus: dynamic, may differ)
	case h.pt == PayloadCN && f.from.cn.Load() && f.to.cn.Load():
		outPT = PayloadCN // comfort noise (RFC 3389) passes through
	case h.pt == fp.dtmfPT && tp.dtmfPT != NoPayloadType:
		// RFC 4733 events pass through with the receiver's payload type.
		outPT = tp.dtmfPT
	case h.pt == fp.dtmfPT && fp.dtmfPT != NoPayloadType:
		// The receiver has no telephone-event: the signalling carries it.
		f.signalDTMF(pkt[h.payloadStart:h.payloadEnd], h.timestamp)
		return netip.AddrPort{}, handedToMixer
	default:
		return netip.AddrPort{}, dropPayloadType
	}
	var ssrc, ts uint32
	var seq uint16
	if !audio && m != nil && m.owns(f.from.id) {
		// An event inside a stream the mixer sends: same SSRC, in order.
		ssrc, seq, ts = f.to.out.event(h.ssrc, h.seq, h.timestamp, elapsed)
	} else if ssrc, seq, ts, ok = f.to.out.relay(h.ssrc, h.seq, h.timestamp, elapsed); !ok {
		return netip.AddrPort{}, dropLate
	}
	if audio && fp.law != lawNone {
		f.audio(pkt[h.payloadStart:h.payloadEnd], fp.law, tp.law)
	}
	f.to.noteTx(ssrc, ts, elapsed)
	setPayloadType(pkt, outPT)
	if ssrc != h.ssrc || seq != h.seq || ts != h.timestamp {
		setStreamFields(pkt, seq, ts, ssrc)
	}
	return dst, dropNone
}

// audio prepares an audio payload for the receiving leg, in place: through
// the Tap when one is set, else transcoded if the laws differ.
func (f *forwarder) audio(payload []byte, from, to law) {
	if t := f.s.tap.Load(); t != nil {
		pcm := f.pcmBuf()
		pcm = pcm[:decode(pcm, payload, from)]
		if t.tap.Frame(f.from.id, pcm) {
			encode(payload, pcm, to)
			return
		}
	}
	switch {
	case from == to:
	case from == lawULaw:
		PCMUToPCMA(payload, payload)
	default:
		PCMAToPCMU(payload, payload)
	}
}

// decode decodes a G.711 payload of the given law into dst.
func decode(dst []int16, payload []byte, l law) int {
	if l == lawALaw {
		return DecodePCMA(dst, payload)
	}
	return DecodePCMU(dst, payload)
}

// encode encodes pcm into a G.711 payload of the given law.
func encode(payload []byte, pcm []int16, l law) int {
	if l == lawALaw {
		return EncodePCMA(payload, pcm)
	}
	return EncodePCMU(payload, pcm)
}
