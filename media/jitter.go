package media

import (
	"sync"
	"time"
)

// The mixer works on 20 ms frames of 8 kHz linear PCM.
const (
	frameSamples  = 160
	frameDuration = 20 * time.Millisecond
)

const (
	// ringSamples is the capacity of an input ring (a power of two).
	ringSamples = 2048
	// ringPackets is how many packet boundaries an input ring remembers.
	ringPackets = 16
	// maxBuffered bounds the audio an input holds: 4 frames, 80 ms. More
	// means the source runs ahead of the mixer's clock; the oldest audio
	// goes.
	maxBuffered = 4 * frameSamples
	// shrinkAfter is how many frames in a row an input must have held a
	// whole spare frame before one frame is dropped to cut its delay.
	shrinkAfter = 100
	// activeWindow is how recently an input must have received audio for a
	// missing frame to count as an underrun rather than silence.
	activeWindow = 3 * frameDuration
)

// frameSource describes where a mixed frame's audio came from: when it is
// exactly one source packet of one frame (aligned), that packet's SSRC,
// sequence number and timestamp; and whether the relay already sent that
// packet on (relayed).
type frameSource struct {
	aligned bool
	relayed bool
	ssrc    uint32
	seq     uint16
	ts      uint32
}

// ringPacket is the boundary of one packet's samples in an input ring.
type ringPacket struct {
	start int64 // absolute sample position of its first sample
	n     int
	src   frameSource
}

// inputRing is the jitter buffer of one party of a mixed call: a ring of
// decoded samples that its receiver pushes as packets arrive and the mixer
// pops, one frame per tick. It absorbs jitter by playing every frame it
// receives, so a late packet delays the party by one frame rather than
// being lost; the delay is cut again once the party has been a whole frame
// ahead for shrinkAfter frames, and is never more than maxBuffered. Packet
// sizes other than 20 ms are reframed.
type inputRing struct {
	mu       sync.Mutex
	pcm      [ringSamples]int16
	w, r     int64 // absolute sample positions: written, read
	pkts     [ringPackets]ringPacket
	pw, pr   int           // absolute packet indices: written, read
	lastPush time.Duration // when audio last arrived, since the mixer's epoch; 0 = never
	spare    int           // frames in a row popped with a whole frame left over

	// owned reports, for a leg's ring, that the mixer sends the stream this
	// leg's audio goes to (the other leg), so the relay must not.
	owned bool

	underruns uint64
	overflows uint64
}

// push appends one packet's samples. It returns whether the mixer owns the
// packet's onward stream (for a leg: the relay must not send it).
func (q *inputRing) push(src frameSource, pcm []int16, now time.Duration) (owned bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(pcm) > maxBuffered {
		pcm = pcm[:maxBuffered]
	}
	src.relayed = !q.owned
	for int(q.w-q.r)+len(pcm) > maxBuffered {
		q.dropOldest()
	}
	start := q.w
	for i, s := range pcm {
		q.pcm[(start+int64(i))&(ringSamples-1)] = s
	}
	q.w += int64(len(pcm))
	if q.pw-q.pr == ringPackets {
		q.pr++ // forget the oldest boundary; it only costs alignment
	}
	q.pkts[q.pw%ringPackets] = ringPacket{start: start, n: len(pcm), src: src}
	q.pw++
	q.lastPush = now + 1
	return q.owned
}

// dropOldest discards the oldest packet (or frame, when no boundary is
// known) to make room.
func (q *inputRing) dropOldest() {
	q.skipConsumed()
	n := int64(frameSamples)
	if q.pr < q.pw {
		p := q.pkts[q.pr%ringPackets]
		n = p.start + int64(p.n) - q.r
		q.pr++
	}
	q.r = min(q.r+max(n, 1), q.w)
	q.overflows++
}

// skipConsumed forgets the boundaries of packets already read.
func (q *inputRing) skipConsumed() {
	for q.pr < q.pw {
		if p := q.pkts[q.pr%ringPackets]; p.start+int64(p.n) > q.r {
			return
		}
		q.pr++
	}
}

// pop reads the next frame into dst (frameSamples long). It reports false,
// leaving dst alone, when less than a frame is buffered.
func (q *inputRing) pop(dst []int16, now time.Duration) (frameSource, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.w-q.r < frameSamples {
		if q.lastPush > 0 && now-(q.lastPush-1) < activeWindow {
			q.underruns++
		}
		q.spare = 0
		return frameSource{}, false
	}
	q.skipConsumed()
	var src frameSource
	if q.pr < q.pw {
		p := q.pkts[q.pr%ringPackets]
		src.relayed = p.src.relayed
		if p.start == q.r && p.n == frameSamples {
			src = p.src
			src.aligned = true
		}
	}
	for i := range dst[:frameSamples] {
		dst[i] = q.pcm[(q.r+int64(i))&(ringSamples-1)]
	}
	q.r += frameSamples
	if q.w-q.r >= frameSamples {
		q.spare++
		if q.spare >= shrinkAfter {
			q.spare = 0
			q.dropOldest()
		}
	} else {
		q.spare = 0
	}
	return src, true
}

// setOwned records whether the mixer owns the ring's onward stream.
func (q *inputRing) setOwned(owned bool) {
	q.mu.Lock()
	q.owned = owned
	q.mu.Unlock()
}

// reset empties the ring.
func (q *inputRing) reset() {
	q.mu.Lock()
	q.r, q.pr, q.spare = q.w, q.pw, 0
	q.mu.Unlock()
}

// counters returns and clears the underrun and overflow counts.
func (q *inputRing) counters() (underruns, overflows uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	underruns, overflows = q.underruns, q.overflows
	q.underruns, q.overflows = 0, 0
	return underruns, overflows
}
