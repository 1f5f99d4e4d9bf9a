package media

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// realignWindow is how many late packets the relay may drop, when it takes
// a leg's stream back from the mixer, to return to an untouched
// passthrough rather than rewrite the rest of the call.
const realignWindow = 3

// snapWindow bounds the forward jump (in packets) that may be taken to
// return to an identity mapping.
const snapWindow = 100

// outStream is the RTP stream the edge sends to one leg. Usually it is the
// other leg's stream passed through untouched: SSRC, sequence numbers and
// timestamps as the source sent them. While the mixer owns the stream it
// sends frames of its own; the outStream keeps them in the same stream
// (RFC 3550 section 5.1): the same SSRC, sequence numbers that go on by one,
// timestamps that follow the sampling clock. When the relay takes over
// again it returns to the untouched passthrough as soon as that keeps the
// stream monotonic, and otherwise maps the source with fixed offsets.
//
// The poller goroutine reading the source leg and the mixer both use it; a mutex
// guards it (uncontended on the relay path).
type outStream struct {
	mu       sync.Mutex
	started  bool          // something was sent
	ssrc     uint32        // SSRC of what is sent
	src      uint32        // source SSRC mapped onto ssrc
	srcKnown bool          // false while the stream was started by the mixer alone
	seqOff   uint16        // added to source sequence numbers
	tsOff    uint32        // added to source timestamps
	seq      uint16        // highest sequence number sent
	ts       uint32        // timestamp of that packet
	at       time.Duration // when it was sent, since the session's epoch
	realign  int           // late packets the relay may still drop after the mixer
}

// seqAhead reports whether a comes after b by 1..window (RFC 3550 appendix
// A.1 arithmetic modulo 2^16).
func seqAhead(a, b uint16, window uint16) bool {
	d := a - b
	return d >= 1 && d <= window
}

// tsNotBehind reports whether timestamp a is at or after b (modulo 2^32).
func tsNotBehind(a, b uint32) bool { return int32(a-b) >= 0 }

// elapsedSamples is the RTP clock advance for d, rounded to whole frames,
// at least one frame.
func elapsedSamples(d time.Duration) uint32 {
	frames := (d + frameDuration/2) / frameDuration
	return uint32(max(frames, 1)) * frameSamples
}

// record notes a packet sent with seq and ts at now.
func (o *outStream) record(seq uint16, ts uint32, now time.Duration) {
	if !o.started || seqAhead(seq, o.seq, 1<<15) {
		o.seq, o.ts, o.at = seq, ts, now
	}
	o.started = true
}

// resync maps the source packet (seq, ts) right after the last packet sent:
// the next sequence number and a timestamp advanced by the time elapsed.
func (o *outStream) resync(seq uint16, ts uint32, now time.Duration) {
	o.seqOff = o.seq + 1 - seq
	o.tsOff = o.ts + elapsedSamples(now-o.at) - ts
}

// identity reports whether the source passes untouched.
func (o *outStream) identity() bool {
	return o.srcKnown && o.ssrc == o.src && o.seqOff == 0 && o.tsOff == 0
}

// relay maps the header of a packet of the source stream that the relay
// sends at now. It returns false when the packet must be dropped: a late
// packet whose slot the mixer already filled.
func (o *outStream) relay(ssrc uint32, seq uint16, ts uint32, now time.Duration) (uint32, uint16, uint32, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.started || (o.srcKnown && ssrc != o.src && o.realign == 0):
		// A stream never touched by the mixer, or a new source stream
		// (RFC 3550 section 8.2): pass it through as it is.
		o.ssrc, o.src, o.srcKnown = ssrc, ssrc, true
		o.seqOff, o.tsOff, o.realign = 0, 0, 0
	case o.realign > 0:
		// First packets after the mixer: go back to passthrough if that
		// keeps the stream monotonic; drop a few late ones to get there.
		switch {
		case ssrc == o.ssrc && seqAhead(seq, o.seq, snapWindow) && tsNotBehind(ts, o.ts):
			o.src, o.srcKnown, o.seqOff, o.tsOff, o.realign = ssrc, true, 0, 0, 0
		case ssrc == o.ssrc && seqAhead(o.seq+1, seq, realignWindow):
			o.realign--
			return 0, 0, 0, false
		default:
			o.src, o.srcKnown, o.realign = ssrc, true, 0
			o.resync(seq, ts, now)
		}
	}
	outSeq, outTS := seq+o.seqOff, ts+o.tsOff
	o.record(outSeq, outTS, now)
	return o.ssrc, outSeq, outTS, true
}

// mixed returns the header of a frame the mixer sends at now. When the
// frame carries exactly one source packet (aligned) its sequence number
// and timestamp are mapped like the relay's, so that a stream mixed while
// both parties talk keeps the source's numbering; otherwise the frame
// continues the stream by one packet and the time elapsed.
func (o *outStream) mixed(src frameSource, now time.Duration) (uint32, uint16, uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.realign = realignWindow
	if !o.started {
		o.started = true
		if src.aligned {
			o.ssrc, o.src, o.srcKnown = src.ssrc, src.ssrc, true
			o.record(src.seq, src.ts, now)
			return o.ssrc, src.seq, src.ts
		}
		o.ssrc = randomSSRC()
		o.seq = uint16(randomSSRC())
		o.ts = randomSSRC()
		o.at = now
		return o.ssrc, o.seq, o.ts
	}
	if !src.aligned {
		seq, ts := o.seq+1, o.ts+elapsedSamples(now-o.at)
		o.record(seq, ts, now)
		return o.ssrc, seq, ts
	}
	if !o.srcKnown || src.ssrc != o.src {
		o.src, o.srcKnown = src.ssrc, true
		o.resync(src.seq, src.ts, now)
	}
	seq, ts := src.seq+o.seqOff, src.ts+o.tsOff
	switch {
	case o.ssrc == src.ssrc && (o.seqOff != 0 || o.tsOff != 0) &&
		seqAhead(src.seq, o.seq, snapWindow) && tsNotBehind(src.ts, o.ts+frameSamples):
		// The source caught up: back to its own numbering.
		o.seqOff, o.tsOff = 0, 0
		seq, ts = src.seq, src.ts
	case !seqAhead(seq, o.seq, snapWindow) || !tsNotBehind(ts, o.ts+frameSamples):
		o.resync(src.seq, src.ts, now)
		seq, ts = src.seq+o.seqOff, src.ts+o.tsOff
	}
	o.record(seq, ts, now)
	return o.ssrc, seq, ts
}

// inject returns the header of a packet the edge makes itself in the
// stream (an RFC 4733 event from SIP INFO): the next sequence number, and
// for the first packet of an event a timestamp advanced by the time
// elapsed, for the following ones the same timestamp (RFC 4733 section
// 2.5.1.2). Like the mixer's frames it makes the relay realign afterwards.
func (o *outStream) inject(first bool, now time.Duration) (uint32, uint16, uint32) {
	if first {
		return o.mixed(frameSource{}, now)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.realign = realignWindow
	o.seq++
	return o.ssrc, o.seq, o.ts
}

// randomSSRC returns a random 32-bit value (RFC 3550 section 8.1).
func randomSSRC() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return binary.BigEndian.Uint32(b[:])
}

// event maps a packet the relay sends inside a stream the mixer owns (an
// RFC 4733 event between mixed frames): same SSRC, and sequence numbers
// kept increasing. The packets of one event share their timestamp
// (RFC 4733 section 2.5.1.2), which a fixed offset preserves.
func (o *outStream) event(ssrc uint32, seq uint16, ts uint32, now time.Duration) (uint32, uint16, uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started {
		o.ssrc, o.src, o.srcKnown = ssrc, ssrc, true
	} else if !o.srcKnown || ssrc != o.src || !seqAhead(seq+o.seqOff, o.seq, snapWindow) {
		o.src, o.srcKnown = ssrc, true
		o.resync(seq, ts, now)
	}
	outSeq, outTS := seq+o.seqOff, ts+o.tsOff
	o.record(outSeq, outTS, now)
	return o.ssrc, outSeq, outTS
}
