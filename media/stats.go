package media

import (
	"sync/atomic"
	"time"
)

// clockRate is the RTP clock of the G.711 and G.722 payloads and of
// telephone-event (8 kHz, RFC 3551 sections 4.5.2 and 4.5.14, RFC 4733
// section 7.1.1): the mixer's and the operators'. Opus runs a 48 kHz clock
// (RFC 7587 section 4.1); the relay's statistics use the peer's codec
// clock (peer.clock, legCounters.clock).
const clockRate = 8000

// Sequence number tolerances of RFC 3550 appendix A.1.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// LegStats are the counters of one leg, as reported in call.ended.
type LegStats struct {
	// PacketsReceived and BytesReceived count RTP accepted from the leg's
	// peer (after the source check); bytes are whole RTP packets.
	PacketsReceived uint64 `json:"packets_received"`
	BytesReceived   uint64 `json:"bytes_received"`
	// PacketsSent and BytesSent count RTP the relay sent to the leg's peer.
	PacketsSent uint64 `json:"packets_sent"`
	BytesSent   uint64 `json:"bytes_sent"`
	// DroppedWrongSource counts packets from a source other than the
	// latched (or, before latching, the signalled) peer.
	DroppedWrongSource uint64 `json:"dropped_wrong_source"`
	// DroppedAuth counts SRTP packets that failed authentication or
	// replayed (RFC 3711 section 3.3): dropped, never relayed.
	DroppedAuth uint64 `json:"dropped_srtp_auth"`
	// SRTP reports whether the leg runs SDES-SRTP (RFC 4568).
	SRTP bool `json:"srtp"`
	// RTCP is the leg's RTCP: reports exchanged and what the peer said.
	RTCP RTCPStats `json:"rtcp"`
	// DroppedMalformed counts datagrams that are not RTP.
	DroppedMalformed uint64 `json:"dropped_malformed"`
	// DroppedOther counts RTP from the peer that could not be sent on: a
	// payload type the legs did not negotiate, no destination yet, or a
	// failed write.
	DroppedOther uint64 `json:"dropped_other"`
	// PacketsExpected and PacketsLost follow RFC 3550 appendix A.3: the
	// packets the sequence numbers say were sent, and how many of them never
	// arrived. Duplicates can make the raw difference negative; it is
	// reported as 0 then.
	PacketsExpected uint64 `json:"packets_expected"`
	PacketsLost     uint64 `json:"packets_lost"`
	// JitterMs is the interarrival jitter of the peer's audio (RFC 3550
	// section 6.4.1, appendix A.8), in milliseconds.
	JitterMs float64 `json:"jitter_ms"`
	// LastPacket is when the last packet was accepted; zero if none was.
	LastPacket time.Time `json:"last_packet,omitzero"`
	// Latched reports whether the leg has latched onto its peer's source
	// address (RFC 4961).
	Latched bool `json:"latched"`
}

// SessionStats are the counters of a session's two legs.
type SessionStats struct {
	CallID string `json:"call_id"`
	// A is the trunk leg, B the service leg.
	A LegStats `json:"a"`
	B LegStats `json:"b"`
}

// legCounters are the published counters of a leg. Each is written by one
// poller goroutine and read by Stats, hence atomics.
type legCounters struct {
	rxPackets, rxBytes atomic.Uint64
	txPackets, txBytes atomic.Uint64
	dropWrongSource    atomic.Uint64
	dropMalformed      atomic.Uint64
	dropAuth           atomic.Uint64
	dropOther          atomic.Uint64
	expected           atomic.Uint64
	lost               atomic.Int64
	jitter             atomic.Uint32 // RTP clock units, scaled by 16 (appendix A.8)
	clock              atomic.Uint32 // the peer codec's RTP clock, Hz; 0 before SetRemote
	rxSSRC             atomic.Uint32 // SSRC of the stream received
	extSeq             atomic.Uint32 // its extended highest sequence number
	lastRx             atomic.Int64  // nanoseconds since the session's epoch, plus 1; 0 = never
}

// snapshot reads c into a LegStats; epoch is the session's time origin.
func (c *legCounters) snapshot(epoch time.Time) LegStats {
	s := LegStats{
		PacketsReceived:    c.rxPackets.Load(),
		BytesReceived:      c.rxBytes.Load(),
		PacketsSent:        c.txPackets.Load(),
		BytesSent:          c.txBytes.Load(),
		DroppedWrongSource: c.dropWrongSource.Load(),
		DroppedMalformed:   c.dropMalformed.Load(),
		DroppedAuth:        c.dropAuth.Load(),
		DroppedOther:       c.dropOther.Load(),
		PacketsExpected:    c.expected.Load(),
		JitterMs:           float64(c.jitter.Load()) / 16 / (float64(c.rate()) / 1000),
	}
	if lost := c.lost.Load(); lost > 0 {
		s.PacketsLost = uint64(lost)
	}
	if last := c.lastRx.Load(); last > 0 {
		s.LastPacket = epoch.Add(time.Duration(last - 1))
	}
	return s
}

// rxStream is the receiver state of RFC 3550 appendix A for the stream a leg
// receives. Only the goroutine reading that leg touches it.
type rxStream struct {
	started  bool
	ssrc     uint32
	maxSeq   uint16
	cycles   uint64
	baseSeq  uint64
	badSeq   uint32
	received uint64

	// Counts of earlier streams (another SSRC, or a restart), so that the
	// reported totals cover the whole call.
	priorExpected uint64
	priorLost     int64

	haveTransit bool
	transit     int32
	jitter      uint32 // scaled by 16
	clock       uint32 // the RTP clock of transit and jitter, Hz
}

// setClock keeps the jitter in units of the stream's RTP clock when the
// negotiated codec changes clock (G.711 to Opus, 8 to 48 kHz): the jitter
// so far is rescaled and the transit reference restarts.
func (r *rxStream) setClock(rate uint32) {
	if r.clock == rate {
		return
	}
	if r.clock != 0 {
		r.jitter = uint32(min(uint64(r.jitter)*uint64(rate)/uint64(r.clock), uint64(^uint32(0))))
		r.haveTransit = false
	}
	r.clock = rate
}

// initSeq starts a new sequence (appendix A.1 init_seq), folding the
// current one into the totals.
func (r *rxStream) initSeq(seq uint16) {
	if r.started {
		r.priorExpected += r.expected()
		r.priorLost += int64(r.expected()) - int64(r.received)
	}
	r.started = true
	r.baseSeq = uint64(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1
	r.cycles = 0
	r.received = 0
	r.haveTransit = false
}

// expected is the number of packets of the current sequence (appendix A.3).
func (r *rxStream) expected() uint64 {
	return r.cycles + uint64(r.maxSeq) - r.baseSeq + 1
}

// update accounts one packet (appendix A.1 update_seq, without the
// probation a relay that already checked the source does not need). arrival
// is the arrival time in RTP clock units; audio tells whether the packet
// counts for jitter (RFC 4733 events carry the event's start time, not a
// sampling instant).
func (r *rxStream) update(h *rtpHeader, arrival uint32, audio bool) {
	switch {
	case !r.started || h.ssrc != r.ssrc:
		r.ssrc = h.ssrc
		r.initSeq(h.seq)
	default:
		udelta := h.seq - r.maxSeq
		switch {
		case udelta < maxDropout: // in order, with permissible gap
			if h.seq < r.maxSeq {
				r.cycles += seqMod
			}
			r.maxSeq = h.seq
		case int(udelta) <= seqMod-maxMisorder: // very large jump
			if uint32(h.seq) != r.badSeq {
				r.badSeq = uint32(h.seq+1) & (seqMod - 1)
				return
			}
			r.initSeq(h.seq) // two sequential packets: the sender restarted
		default: // duplicate or reordered packet
		}
	}
	r.received++
	if audio {
		r.updateJitter(h.timestamp, arrival)
	}
}

// updateJitter is appendix A.8 in integer arithmetic, jitter scaled by 16.
func (r *rxStream) updateJitter(timestamp, arrival uint32) {
	transit := int32(arrival - timestamp)
	if !r.haveTransit {
		r.haveTransit, r.transit = true, transit
		return
	}
	d := int64(transit) - int64(r.transit)
	r.transit = transit
	if d < 0 {
		d = -d
	}
	j := int64(r.jitter) + d - int64((r.jitter+8)>>4)
	r.jitter = uint32(min(max(j, 0), int64(^uint32(0))))
}

// publish stores the totals into the leg's counters.
func (r *rxStream) publish(c *legCounters) {
	exp := r.expected()
	c.expected.Store(r.priorExpected + exp)
	c.lost.Store(r.priorLost + int64(exp) - int64(r.received))
	c.jitter.Store(r.jitter)
	c.rxSSRC.Store(r.ssrc)
	c.extSeq.Store(uint32(r.cycles + uint64(r.maxSeq)))
}

// rate is the RTP clock of the leg's peer codec: 48 kHz for Opus, 8 kHz
// for the others (and before any SetRemote).
func (c *legCounters) rate() uint32 {
	if r := c.clock.Load(); r != 0 {
		return r
	}
	return clockRate
}

// rtpClock converts a time since the session's epoch to RTP clock units
// of the 8 kHz clock.
func rtpClock(elapsed time.Duration) uint32 {
	return rtpClockAt(elapsed, clockRate)
}

// rtpClockAt converts a time since the session's epoch to units of an RTP
// clock of rate Hz.
func rtpClockAt(elapsed time.Duration, rate uint32) uint32 {
	return uint32(elapsed.Microseconds() * int64(rate) / 1e6)
}
